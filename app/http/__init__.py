"""Everything that knows HTTP: the request pipeline, context, dependencies, guard, errors, paging, ETags, OpenAPI."""
