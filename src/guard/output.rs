//! Validation of model output before anyone acts on it (OWASP LLM05):
//! `chat --schema` replies are parsed as JSON and checked against the
//! schema; the output is data, never executed.

use serde_json::Value;

use crate::schema::CompiledSchema;

/// The JSON value in a reply: the whole reply, or the body of a single
/// fenced block (```json ... ```) when the model wrapped it in one.
pub fn parse_json_reply(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```")
        .and_then(|rest| rest.strip_suffix("```"))
        .map(|inner| {
            inner.split_once('\n').map_or("", |(lang, body)| {
                if lang.trim().chars().all(|c| c.is_ascii_alphanumeric()) {
                    body
                } else {
                    inner
                }
            })
        })
        .unwrap_or(trimmed);
    serde_json::from_str(body.trim()).map_err(|err| format!("the reply is not JSON: {err}"))
}

/// The reply's JSON value if it parses and fits `schema`, else every
/// problem found (`/path: what is wrong`).
pub fn check_reply(text: &str, schema: &CompiledSchema) -> Result<Value, Vec<String>> {
    let value = parse_json_reply(text).map_err(|e| vec![e])?;
    schema.validate(&value)?;
    Ok(value)
}

/// The instruction for providers without a native JSON-schema mode.
pub fn instruction(schema: &Value) -> String {
    format!(
        "Reply with only one JSON value, no prose and no code fence, that validates against \
         this JSON Schema:\n{}",
        serde_json::to_string_pretty(schema).unwrap_or_default()
    )
}

/// The follow-up message after an invalid reply.
pub fn correction(errors: &[String]) -> String {
    format!(
        "Your reply does not validate against the required JSON Schema:\n- {}\nReply again with \
         only the corrected JSON value.",
        errors.join("\n- ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> CompiledSchema {
        CompiledSchema::compile(&json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "required": ["name", "age"],
            "additionalProperties": false
        }))
        .expect("a valid schema")
    }

    #[test]
    fn accepts_plain_and_fenced_json() {
        let s = schema();
        assert_eq!(
            check_reply("{\"name\":\"a\",\"age\":3}", &s),
            Ok(json!({"name": "a", "age": 3}))
        );
        assert!(check_reply("```json\n{\"name\":\"a\",\"age\":3}\n```", &s).is_ok());
        assert!(check_reply("```\n{\"name\":\"a\",\"age\":3}\n```", &s).is_ok());
    }

    #[test]
    fn reports_what_is_wrong() {
        let s = schema();
        let errors = check_reply("{\"name\":\"a\",\"age\":-1,\"x\":1}", &s).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("age")), "{errors:?}");
        assert!(errors.len() >= 2, "{errors:?}");
        let errors = check_reply("Sure! Here it is: {\"name\":\"a\"}", &s).unwrap_err();
        assert!(errors[0].starts_with("the reply is not JSON"), "{errors:?}");
        assert!(correction(&errors).contains("not JSON"));
    }
}
