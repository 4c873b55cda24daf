"""Request and response models (Pydantic), one module per resource; `common` holds pages and
bounded text types, `problem` the RFC 9457 problem body. They are the OpenAPI document's schemas."""
