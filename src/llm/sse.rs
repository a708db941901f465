//! Server-sent events: a byte stream -> events decoder (WHATWG rules).
