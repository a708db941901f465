//! Running a local model: the weights loaded with candle's quantized llama
//! (CPU; candle picks AVX2/FMA paths at run time and one thread per
//! physical core), the tokenizer built from the GGUF's own vocabulary, and
//! a generation loop that streams whole UTF-8 characters, stops at the end
//! of the assistant's message or the output cap, and checks the cancel
//! flag between tokens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;

use super::install::Installed;
use super::utf8::Utf8Holdback;
use super::{chatml, gguf, LocalError};
use crate::llm::FinishReason;

/// Prompt tokens run through the model per forward pass (bounds memory).
const PROMPT_CHUNK: usize = 256;
/// Repeated tokens are penalised over this many recent ones.
const REPEAT_WINDOW: usize = 64;
/// The penalty (small models loop without one).
const REPEAT_PENALTY: f32 = 1.1;
/// The temperature when the request sets none (SmolLM2's recommendation).
const DEFAULT_TEMPERATURE: f64 = 0.2;
/// Nucleus sampling's mass when sampling.
const TOP_P: f64 = 0.9;

/// A loaded local model.
pub struct LocalModel {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    /// Token ids that end a reply (`<|im_end|>`, the end-of-text token).
    stops: Vec<u32>,
    /// The bytes of each token (byte-level BPE), by id.
    token_bytes: Vec<Vec<u8>>,
    context_window: usize,
    device: Device,
}

/// How to generate one reply.
#[derive(Clone, Copy, Debug)]
pub struct GenerateOptions {
    /// The output cap.
    pub max_tokens: u32,
    /// The temperature; `Some(0.0)` is greedy.
    pub temperature: Option<f32>,
    /// The sampler's seed.
    pub seed: u64,
}

/// What one generation did.
#[derive(Clone, Debug)]
pub struct Generation {
    /// The reply.
    pub text: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Reply tokens (the stop token not counted).
    pub output_tokens: u64,
    /// Why it stopped; `None` when cancelled.
    pub finish: Option<FinishReason>,
    /// Time spent on the prompt.
    pub prompt_time: Duration,
    /// Time spent generating.
    pub generation_time: Duration,
    /// Time to the first text.
    pub ttft: Option<Duration>,
}

impl LocalModel {
    /// Loads `installed` (its file checked first, see [`gguf::open`]).
    pub fn load(installed: &Installed) -> Result<LocalModel, LocalError> {
        let mut file = gguf::open(&installed.path)?;
        let corrupt = |err: candle_core::Error| LocalError::Corrupt {
            path: installed.path.clone(),
            reason: err.to_string(),
        };
        let tokenizer = tokenizer_from(&file.content).map_err(corrupt)?;
        let vocab = gguf::metadata_u64(&file.content, "llama.vocab_size")
            .unwrap_or(tokenizer.get_vocab_size(true) as u64) as usize;
        let token_bytes = (0..vocab as u32)
            .map(|id| {
                tokenizer
                    .id_to_token(id)
                    .map(|t| byte_level_bytes(&t))
                    .unwrap_or_default()
            })
            .collect();
        let stops: Vec<u32> = [chatml::END, "<|endoftext|>", chatml::START]
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if stops.is_empty() {
            return Err(LocalError::Unsupported(
                "the model has no <|im_end|> token; confab runs ChatML models".into(),
            ));
        }
        let device = Device::Cpu;
        let content = file.content;
        let window = gguf::metadata_u64(&content, "llama.context_length").unwrap_or(2048);
        let weights =
            ModelWeights::from_gguf(content, &mut file.reader, &device).map_err(corrupt)?;
        Ok(LocalModel {
            weights,
            tokenizer,
            stops,
            token_bytes,
            context_window: (window as usize).min(installed.model.context_window as usize),
            device,
        })
    }

    /// The token ids of `text` (special tokens such as `<|im_start|>`
    /// recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|err| LocalError::Unsupported(format!("the tokenizer failed: {err}")))
    }

    /// The context window in tokens.
    pub fn context_window(&self) -> usize {
        self.context_window
    }

    /// The threads candle computes with (one per physical core unless
    /// `RAYON_NUM_THREADS` says otherwise).
    pub fn threads() -> usize {
        candle_core::utils::get_num_threads()
    }

    /// Generates the reply to `prompt` (token ids), calling `on_text`
    /// with each complete piece of text; stops at a stop token, the output
    /// cap, the end of the window, or when `cancel` is set.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        options: GenerateOptions,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, LocalError> {
        let started = Instant::now();
        let fail =
            |err: candle_core::Error| LocalError::Unsupported(format!("the model failed: {err}"));
        if prompt.is_empty() || prompt.len() >= self.context_window {
            return Err(LocalError::Unsupported(format!(
                "the prompt is {} tokens; the local model takes fewer than {}",
                prompt.len(),
                self.context_window
            )));
        }
        self.weights.clear_kv_cache();
        let mut run = Run {
            text: String::new(),
            holdback: Utf8Holdback::default(),
            tokens: prompt.to_vec(),
            output: 0,
        };
        let mut logits = None;
        for (i, chunk) in prompt.chunks(PROMPT_CHUNK).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok(run.finish(None, started, started.elapsed(), None, prompt.len()));
            }
            logits = Some(self.forward(chunk, i * PROMPT_CHUNK).map_err(fail)?);
        }
        let prompt_time = started.elapsed();
        let mut sampler = sampler(options);
        let mut ttft = None;
        let mut logits = logits.ok_or_else(|| LocalError::Unsupported("empty prompt".into()))?;
        let finish = loop {
            if cancel.load(Ordering::Relaxed) {
                break None;
            }
            if run.output >= options.max_tokens as usize {
                break Some(FinishReason::Length);
            }
            if run.tokens.len() >= self.context_window {
                break Some(FinishReason::Length);
            }
            let next = self
                .pick(&mut sampler, &logits, &run.tokens)
                .map_err(fail)?;
            if self.stops.contains(&next) {
                break Some(FinishReason::Stop);
            }
            run.tokens.push(next);
            run.output += 1;
            let bytes = self
                .token_bytes
                .get(next as usize)
                .map_or(&[][..], Vec::as_slice);
            let piece = run.holdback.push(bytes);
            if !piece.is_empty() {
                ttft.get_or_insert_with(|| started.elapsed());
                on_text(&piece);
                run.text.push_str(&piece);
            }
            logits = self.forward(&[next], run.tokens.len() - 1).map_err(fail)?;
        };
        let tail = run.holdback.finish();
        if !tail.is_empty() {
            on_text(&tail);
            run.text.push_str(&tail);
        }
        Ok(run.finish(finish, started, prompt_time, ttft, prompt.len()))
    }

    fn forward(&mut self, tokens: &[u32], position: usize) -> candle_core::Result<Tensor> {
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        self.weights.forward(&input, position)?.squeeze(0)
    }

    fn pick(
        &self,
        sampler: &mut LogitsProcessor,
        logits: &Tensor,
        tokens: &[u32],
    ) -> candle_core::Result<u32> {
        let logits = logits.to_dtype(candle_core::DType::F32)?;
        let recent = &tokens[tokens.len().saturating_sub(REPEAT_WINDOW)..];
        let logits =
            candle_transformers::utils::apply_repeat_penalty(&logits, REPEAT_PENALTY, recent)?;
        sampler.sample(&logits)
    }
}

/// What a generation has produced so far.
struct Run {
    text: String,
    holdback: Utf8Holdback,
    tokens: Vec<u32>,
    output: usize,
}

impl Run {
    fn finish(
        self,
        finish: Option<FinishReason>,
        started: Instant,
        prompt_time: Duration,
        ttft: Option<Duration>,
        prompt_tokens: usize,
    ) -> Generation {
        Generation {
            text: self.text,
            prompt_tokens: prompt_tokens as u64,
            output_tokens: self.output as u64,
            finish,
            prompt_time,
            generation_time: started.elapsed().saturating_sub(prompt_time),
            ttft,
        }
    }
}

fn sampler(options: GenerateOptions) -> LogitsProcessor {
    let temperature = options.temperature.map_or(DEFAULT_TEMPERATURE, f64::from);
    let sampling = if temperature <= 0.0 {
        Sampling::ArgMax
    } else {
        Sampling::TopP {
            p: TOP_P,
            temperature,
        }
    };
    LogitsProcessor::from_sampling(options.seed, sampling)
}

/// The tokenizer the GGUF describes, with SmolLM2's pre-tokenizer (each
/// digit apart, then byte-level without a prefix space): candle's default
/// for an unknown `tokenizer.ggml.pre` adds a prefix space.
fn tokenizer_from(
    content: &candle_core::quantized::gguf_file::Content,
) -> candle_core::Result<Tokenizer> {
    use candle_core::quantized::tokenizer::TokenizerFromGguf as _;
    use tokenizers::pre_tokenizers::{
        byte_level::ByteLevel, digits::Digits, sequence::Sequence, PreTokenizerWrapper,
    };
    let mut tokenizer = Tokenizer::from_gguf(content)?;
    let steps: Vec<PreTokenizerWrapper> = vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ];
    tokenizer.with_pre_tokenizer(Some(Sequence::new(steps)));
    tokenizer.with_post_processor(None::<tokenizers::processors::PostProcessorWrapper>);
    Ok(tokenizer)
}

/// The bytes a byte-level BPE token stands for: GPT-2 maps each byte to a
/// printable character; special tokens (`<|im_end|>`) map to their text.
fn byte_level_bytes(token: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(token.len());
    for c in token.chars() {
        match unicode_to_byte(c) {
            Some(b) => bytes.push(b),
            None => return token.as_bytes().to_vec(),
        }
    }
    bytes
}

/// The inverse of GPT-2's `bytes_to_unicode`: printable Latin-1 bytes
/// stand for themselves, the other 68 were moved to U+0100 onwards.
fn unicode_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    if code < 256 && printable(code) {
        return Some(code as u8);
    }
    let offset = code.checked_sub(256)?;
    (0u32..256)
        .filter(|b| !printable(*b))
        .nth(offset as usize)
        .map(|b| b as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_characters_map_back_to_bytes() {
        assert_eq!(byte_level_bytes("Ġworld"), b" world");
        assert_eq!(byte_level_bytes("Ċ"), b"\n");
        assert_eq!(byte_level_bytes("ĉ"), b"\t");
        assert_eq!(byte_level_bytes("<|im_end|>"), b"<|im_end|>");
        // "é" is split as bytes C3 A9, shown as "Ã©".
        assert_eq!(byte_level_bytes("Ã©"), "é".as_bytes());
        let all: Vec<u8> = (0u32..256)
            .filter_map(|b| {
                let printable = (0x21..=0x7e).contains(&b)
                    || (0xa1..=0xac).contains(&b)
                    || (0xae..=0xff).contains(&b);
                char::from_u32(if printable { b } else { 0 })
                    .filter(|_| printable)
                    .and_then(unicode_to_byte)
            })
            .collect();
        assert_eq!(all.len(), 188);
    }
}
