//! JSON Schema validation, compiled once and used many times: tool
//! arguments before a tool runs, and a model's structured reply
//! (`chat --schema FILE.json`). No remote `$ref`s are fetched.

use serde_json::Value;

/// A schema that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON Schema: {message}")]
pub struct SchemaError {
    /// What is wrong, with the location in the schema when known.
    pub message: String,
}

/// A compiled JSON Schema (the draft follows `$schema`, 2020-12 if absent).
pub struct CompiledSchema {
    validator: jsonschema::Validator,
    source: Value,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl CompiledSchema {
    /// Compiles `schema`; fails on schemas that are not valid for their
    /// draft and on references that cannot be resolved locally.
    pub fn compile(schema: &Value) -> Result<CompiledSchema, SchemaError> {
        let validator = jsonschema::validator_for(schema).map_err(|err| {
            // The schema was validated against its meta-schema: the
            // "instance" is the schema.
            let at = err.instance_path.to_string();
            SchemaError {
                message: if at.is_empty() {
                    err.to_string()
                } else {
                    format!("{at}: {err}")
                },
            }
        })?;
        Ok(CompiledSchema {
            validator,
            source: schema.clone(),
        })
    }

    /// The schema as written.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether `instance` is valid.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    /// Checks `instance`; on failure, one message per error, each
    /// `/json/pointer: what is wrong` (`/` for the root), in the order the
    /// validator found them.
    pub fn validate(&self, instance: &Value) -> Result<(), Vec<String>> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(instance)
            .map(|err| {
                let path = err.instance_path.to_string();
                let path = if path.is_empty() { "/".into() } else { path };
                format!("{path}: {err}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_error_with_its_path() {
        let schema = CompiledSchema::compile(&json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "count": {"type": "integer", "minimum": 1},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["path"],
            "additionalProperties": false
        }))
        .expect("schema");
        assert_eq!(schema.validate(&json!({"path": "/a", "count": 2})), Ok(()));
        let errors = schema
            .validate(&json!({"count": 0, "tags": ["x", 3], "extra": true}))
            .expect_err("invalid");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("/: ") && e.contains("path")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("/count: ")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("/tags/1: ")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("extra")), "{errors:?}");
        let errors = schema.validate(&json!([1])).expect_err("not an object");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("/: "));
    }

    #[test]
    fn rejects_invalid_schemas_and_remote_refs() {
        let err = CompiledSchema::compile(&json!({"type": "no-such-type"})).expect_err("invalid");
        assert!(err.to_string().starts_with("invalid JSON Schema"), "{err}");
        assert!(CompiledSchema::compile(&json!({"minimum": "ten"})).is_err());
        assert!(
            CompiledSchema::compile(&json!({"$ref": "https://example.invalid/schema.json"}))
                .is_err()
        );
    }
}
