//! What a batch will cost, before it is sent (`batch submit --dry-run`,
//! and kept with every submitted batch): the prompt tokens of every
//! request counted with the model's tokenizer (exact for OpenAI models,
//! an estimate where the tokenizer is not public), the output at its
//! worst case (every request's cap), priced at the standard and at the
//! batch price of the day.

use serde::{Deserialize, Serialize};

use crate::batch::request::Prepared;
use crate::llm::ChatRequest;
use crate::tokens::chat::{count_messages, ChatMessage, MessageContent, ModelTokenizer};
use crate::usage::prices::{PriceTable, TokenCounts};

/// A batch's estimated tokens and cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Requests.
    pub requests: u64,
    /// Prompt tokens of all requests.
    pub input_tokens: u64,
    /// The sum of the requests' output caps: the most output there can be.
    pub max_output_tokens: u64,
    /// Whether the counts are exact (else estimates).
    pub exact: bool,
    /// The day the prices are of (YYYY-MM-DD).
    pub priced_on: String,
    /// At most this at the standard (synchronous) price, USD; `None`: no price.
    pub sync_usd: Option<f64>,
    /// At most this at the batch price, USD; `None`: no price or batch rule.
    pub batch_usd: Option<f64>,
}

/// The prompt tokens of one request.
pub fn prompt_tokens(request: &ChatRequest, tokenizer: &ModelTokenizer) -> u64 {
    let message = |role: &str, text: &str| ChatMessage {
        role: role.to_string(),
        content: Some(MessageContent::Text(text.to_string())),
        name: None,
    };
    let mut messages: Vec<ChatMessage> = request
        .system
        .iter()
        .map(|s| message("system", s))
        .collect();
    messages.extend(
        request
            .messages
            .iter()
            .map(|m| message(m.role.as_str(), &m.content)),
    );
    let schema = request.response_format.as_ref().map_or(0, |format| {
        let instruction = crate::guard::output::instruction(&format.schema);
        tokenizer.encoding.count(&instruction)
    });
    (count_messages(tokenizer, &messages).tokens + schema) as u64
}

/// Estimates `requests` for `model` (of configured `provider`) at the
/// prices of `day`.
pub fn estimate(
    requests: &[Prepared],
    tokenizer: &ModelTokenizer,
    prices: &PriceTable,
    provider: &str,
    day: &str,
) -> Estimate {
    let input_tokens = requests
        .iter()
        .map(|p| prompt_tokens(&p.request, tokenizer))
        .sum();
    let max_output_tokens = requests
        .iter()
        .map(|p| u64::from(p.request.max_output_tokens))
        .sum();
    let model = requests.first().map_or("", |p| p.request.model.as_str());
    let price = prices.lookup(model, day);
    let tokens = TokenCounts {
        input: input_tokens,
        output: max_output_tokens,
        ..TokenCounts::default()
    };
    let sync_usd = price.map(|p| p.cost(tokens));
    let multiplier = price.and_then(|p| prices.batch_multiplier(model, p, provider, day));
    Estimate {
        requests: requests.len() as u64,
        input_tokens,
        max_output_tokens,
        exact: tokenizer.exact,
        priced_on: day.to_string(),
        sync_usd,
        batch_usd: sync_usd.zip(multiplier).map(|(usd, m)| usd * m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::models::tokenizer_for_model;
    use crate::llm::{Message, Role};

    #[test]
    fn prices_the_worst_case_at_both_prices() {
        let table = PriceTable::from_toml(
            "[[price]]\nmodel = \"gpt-4o-mini\"\nprovider = \"openai\"\nfrom = \"2024-07-18\"\n\
             input = 0.15\noutput = 0.6\n\
             [[batch]]\nprovider = \"openai\"\nfrom = \"2024-04-15\"\nmultiplier = 0.5\n",
            "t",
        )
        .expect("valid");
        let tokenizer = tokenizer_for_model("gpt-4o-mini").expect("known");
        let request = |text: &str, cap| Prepared {
            id: text.into(),
            request: ChatRequest {
                model: "gpt-4o-mini".into(),
                messages: vec![Message::new(Role::User, text)],
                max_output_tokens: cap,
                ..ChatRequest::default()
            },
        };
        let requests = [request("hello there", 1000), request("hi", 3000)];
        let each: Vec<u64> = requests
            .iter()
            .map(|p| prompt_tokens(&p.request, &tokenizer))
            .collect();
        // o200k_base: "user" 1 + "hello there" 2 + 3 per message + 3 priming.
        assert_eq!(each, [9, 8]);
        let estimate = estimate(&requests, &tokenizer, &table, "openai", "2026-01-01");
        assert_eq!(
            (estimate.input_tokens, estimate.max_output_tokens),
            (17, 4000)
        );
        // 17 x $0.15/M + 4000 x $0.60/M = $0.00240255; half in a batch.
        let sync = estimate.sync_usd.expect("priced");
        assert!((sync - 0.002_402_55).abs() < 1e-12, "{sync}");
        let batch = estimate.batch_usd.expect("priced");
        assert!((batch - 0.001_201_275).abs() < 1e-12, "{batch}");
    }
}
