//! Presets: reusable prompts kept as TOML files in the config dir's
//! `presets/` (owned here: their format, their names, the built-in ones).
//!
//! A preset holds any of a system prompt, model, temperature, output cap,
//! `--schema`, the tools offered, a RAG index, tags and a prompt template
//! (see [`template`]). A file in `presets/` shadows a built-in preset of
//! the same name.

pub mod template;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use template::{FillError, Template};

/// The largest preset file read (a prompt, not a document).
pub const MAX_PRESET_BYTES: u64 = 64 * 1024;

/// The presets shipped with confab: (name, file text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "commit-message",
        include_str!("../../assets/presets/commit-message.toml"),
    ),
    ("explain", include_str!("../../assets/presets/explain.toml")),
    ("review", include_str!("../../assets/presets/review.toml")),
    (
        "summarize",
        include_str!("../../assets/presets/summarize.toml"),
    ),
];

/// A preset file, as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// One line for `confab presets list`.
    #[serde(default)]
    pub description: Option<String>,
    /// The system prompt of a conversation it starts.
    #[serde(default)]
    pub system: Option<String>,
    /// The prompt sent, with `{input}` and named `{vars}`.
    #[serde(default)]
    pub template: Option<String>,
    /// The model spec, as `-m` takes it.
    #[serde(default)]
    pub model: Option<String>,
    /// The sampling temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// The output cap in tokens.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// How hard a reasoning model thinks (`minimal`...`high`).
    #[serde(default)]
    pub reasoning_effort: Option<crate::llm::ReasoningEffort>,
    /// Claude's extended thinking budget in tokens.
    #[serde(default)]
    pub thinking_budget: Option<u32>,
    /// A JSON Schema file the reply must follow (relative to `presets/`).
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// The only tools offered (declared names or `SERVER__TOOL`); absent:
    /// every configured tool, empty: none.
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// A RAG index to retrieve from.
    #[serde(default)]
    pub rag: Option<String>,
    /// Tags added to every usage record.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Where a preset comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum PresetSource {
    /// Shipped with confab.
    Builtin,
    /// A file in `presets/`.
    File(PathBuf),
}

/// A preset by name, read and checked.
#[derive(Clone, Debug)]
pub struct LoadedPreset {
    /// Its name (the file stem).
    pub name: String,
    /// Where it was read from.
    pub source: PresetSource,
    /// The file's text, for `presets show`.
    pub text: String,
    /// What it says.
    pub preset: Preset,
}

/// A line of `confab presets list`.
#[derive(Clone, Debug, Serialize)]
pub struct PresetSummary {
    /// Its name.
    pub name: String,
    /// Its description, or the problem that keeps it from loading.
    pub description: String,
    /// Where it comes from.
    pub source: PresetSource,
    /// Whether it loads (a broken file is listed, marked).
    pub ok: bool,
}

/// Errors of finding, reading or checking a preset.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The name cannot be a preset's.
    #[error("`{0}` is not a preset name: use 1-64 letters, digits, `-` or `_`")]
    BadName(String),
    /// No file and no built-in preset has the name.
    #[error("no preset named `{name}`; the presets are {}", available.join(", "))]
    NotFound {
        /// The name asked for.
        name: String,
        /// Every preset there is.
        available: Vec<String>,
    },
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PRESET_BYTES`].
    #[error("{} is larger than {} KiB; a preset holds a prompt, not a document", path.display(), MAX_PRESET_BYTES / 1024)]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML of the preset format, or a value is out
    /// of range.
    #[error("preset `{name}`: {message}")]
    Invalid {
        /// The preset.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Its template could not be filled in.
    #[error("preset `{name}`: {source}")]
    Fill {
        /// The preset.
        name: String,
        /// Which variables are missing or unknown.
        source: FillError,
    },
    /// Its template uses `{input}` and there is none.
    #[error("preset `{name}` needs input: its template uses {{input}}")]
    NoInput {
        /// The preset.
        name: String,
    },
}

/// Whether `name` can name a preset (and a file in `presets/`).
pub fn is_preset_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The presets of one config dir, and the built-in ones.
#[derive(Clone, Debug)]
pub struct PresetStore {
    dir: PathBuf,
}

impl PresetStore {
    /// The store of `config_dir/presets/`.
    pub fn in_config_dir(config_dir: &Path) -> PresetStore {
        PresetStore {
            dir: config_dir.join("presets"),
        }
    }

    /// The directory preset files live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a preset named `name` is (or would be) kept in.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, PresetError> {
        if !is_preset_name(name) {
            return Err(PresetError::BadName(name.to_string()));
        }
        Ok(self.dir.join(format!("{name}.toml")))
    }

    /// The built-in text of `name`, if confab ships one.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .map(|(_, text)| *text)
    }

    /// The preset `name`: its file, else the built-in one.
    pub fn load(&self, name: &str) -> Result<LoadedPreset, PresetError> {
        let path = self.path_of(name)?;
        let (text, source) = match read_bounded(&path)? {
            Some(text) => (text, PresetSource::File(path)),
            None => match PresetStore::builtin_text(name) {
                Some(text) => (text.to_string(), PresetSource::Builtin),
                None => {
                    return Err(PresetError::NotFound {
                        name: name.to_string(),
                        available: self.names(),
                    })
                }
            },
        };
        let preset = parse(name, &text)?;
        Ok(LoadedPreset {
            name: name.to_string(),
            source,
            text,
            preset,
        })
    }

    /// Every preset's name, files and built-in ones, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        names.extend(self.file_names());
        names.sort();
        names.dedup();
        names
    }

    /// The names of the `*.toml` files in `presets/` that can be presets.
    fn file_names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".toml")?;
                is_preset_name(stem).then(|| stem.to_string())
            })
            .collect()
    }

    /// Every preset, each loaded (a broken one is listed with its problem).
    pub fn list(&self) -> Vec<PresetSummary> {
        self.names()
            .into_iter()
            .map(|name| match self.load(&name) {
                Ok(loaded) => PresetSummary {
                    description: loaded.preset.description.unwrap_or_default(),
                    source: loaded.source,
                    name,
                    ok: true,
                },
                Err(err) => PresetSummary {
                    source: self
                        .path_of(&name)
                        .map_or(PresetSource::Builtin, PresetSource::File),
                    description: err.to_string(),
                    name,
                    ok: false,
                },
            })
            .collect()
    }
}

/// The file's text, `None` when there is no file; bounded and UTF-8.
fn read_bounded(path: &Path) -> Result<Option<String>, PresetError> {
    let read_error = |source| PresetError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(read_error(err)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_PRESET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PRESET_BYTES {
        return Err(PresetError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

/// Parses and checks a preset's text.
pub fn parse(name: &str, text: &str) -> Result<Preset, PresetError> {
    let invalid = |message: String| PresetError::Invalid {
        name: name.to_string(),
        message,
    };
    let preset: Preset = toml::from_str(text).map_err(|err| invalid(err.to_string()))?;
    preset
        .problem()
        .map_or(Ok(preset), |message| Err(invalid(message)))
}

impl Preset {
    /// What is wrong with its values, if anything.
    fn problem(&self) -> Option<String> {
        if let Some(t) = self.temperature {
            if !(t.is_finite() && (0.0..=2.0).contains(&t)) {
                return Some(format!("temperature {t} is not between 0 and 2"));
            }
        }
        if self.max_tokens == Some(0) {
            return Some("max_tokens must be at least 1".to_string());
        }
        if self.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Some("model is empty; leave it out to use the default".to_string());
        }
        if let Some(tag) = self
            .tags
            .iter()
            .find(|t| t.trim().is_empty() || t.len() > 128)
        {
            return Some(format!("tag `{tag}` must be 1-128 characters"));
        }
        None
    }

    /// The template, parsed, if it has one.
    pub fn parsed_template(&self) -> Option<Template> {
        self.template.as_deref().map(Template::parse)
    }
}

impl LoadedPreset {
    /// The message to send for `input` (the message or piped stdin, may be
    /// empty) and `vars` (`--var k=v`). Without a template the input is
    /// the message; a template without `{input}` gets the input after it.
    pub fn message(
        &self,
        input: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, PresetError> {
        let Some(template) = self.preset.parsed_template() else {
            if let Some(unknown) = vars.keys().next() {
                return Err(self.fill_error(FillError::Unknown {
                    unknown: unknown.clone(),
                    variables: Vec::new(),
                }));
            }
            return Ok(input.to_string());
        };
        if !template.uses_input() {
            let text = template.fill(vars).map_err(|e| self.fill_error(e))?;
            return Ok(match input.trim().is_empty() {
                true => text,
                false => format!("{text}\n\n{input}"),
            });
        }
        if input.trim().is_empty() {
            return Err(PresetError::NoInput {
                name: self.name.clone(),
            });
        }
        let mut values = vars.clone();
        values.insert(template::INPUT.to_string(), input.to_string());
        template.fill(&values).map_err(|e| self.fill_error(e))
    }

    fn fill_error(&self, source: FillError) -> PresetError {
        PresetError::Fill {
            name: self.name.clone(),
            source,
        }
    }

    /// The schema file, resolved against `presets/` when relative.
    pub fn schema_path(&self, store: &PresetStore) -> Option<PathBuf> {
        self.preset
            .schema
            .as_ref()
            .map(|path| store.dir().join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_builtin_preset_parses_and_fills() {
        let store = PresetStore::in_config_dir(Path::new("/nonexistent"));
        for (name, _) in BUILTIN {
            let loaded = store.load(name).expect(name);
            assert_eq!(loaded.source, PresetSource::Builtin);
            assert!(loaded.preset.description.is_some(), "{name}");
            let message = loaded.message("some input", &vars(&[])).expect(name);
            assert!(message.contains("some input"), "{name}: {message}");
        }
    }

    #[test]
    fn a_file_shadows_the_builtin_and_bad_files_say_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = PresetStore::in_config_dir(dir.path());
        std::fs::create_dir_all(store.dir()).expect("mkdir");
        std::fs::write(
            store.dir().join("review.toml"),
            "template = \"R: {input}\"\n",
        )
        .expect("write");
        std::fs::write(store.dir().join("typo.toml"), "temprature = 0\n").expect("write");
        std::fs::write(store.dir().join("hot.toml"), "temperature = 9\n").expect("write");
        std::fs::write(store.dir().join("big.toml"), "#".repeat(70_000)).expect("write");
        let review = store.load("review").expect("review");
        assert!(matches!(review.source, PresetSource::File(_)));
        assert_eq!(review.message("d", &vars(&[])).expect("fill"), "R: d");
        let typo = store.load("typo").unwrap_err().to_string();
        assert!(typo.contains("unknown field `temprature`"), "{typo}");
        assert!(store
            .load("hot")
            .unwrap_err()
            .to_string()
            .contains("between 0 and 2"));
        assert!(matches!(
            store.load("big"),
            Err(PresetError::TooLarge { .. })
        ));
        let listed = store.list();
        assert!(listed.iter().any(|p| p.name == "typo" && !p.ok));
        assert!(listed.iter().any(|p| p.name == "summarize" && p.ok));
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        let store = PresetStore::in_config_dir(Path::new("/tmp/x"));
        for bad in ["../etc/passwd", "a/b", "", ".hidden", "a.toml"] {
            assert!(
                matches!(store.load(bad), Err(PresetError::BadName(_))),
                "{bad}"
            );
        }
        let missing = store.load("nope").unwrap_err().to_string();
        assert!(missing.contains("review"), "{missing}");
    }

    #[test]
    fn input_and_variables_fill_the_template() {
        let loaded = LoadedPreset {
            name: "t".into(),
            source: PresetSource::Builtin,
            text: String::new(),
            preset: Preset {
                template: Some("In {lang}: {input}".into()),
                ..Preset::default()
            },
        };
        assert_eq!(
            loaded.message("x", &vars(&[("lang", "Go")])).expect("fill"),
            "In Go: x"
        );
        let missing = loaded.message("x", &vars(&[])).unwrap_err().to_string();
        assert!(missing.contains("missing variable: `lang`"), "{missing}");
        assert!(matches!(
            loaded.message("  ", &vars(&[("lang", "Go")])),
            Err(PresetError::NoInput { .. })
        ));
        let plain = LoadedPreset {
            preset: Preset {
                template: Some("Write a haiku.".into()),
                ..Preset::default()
            },
            ..loaded
        };
        assert_eq!(
            plain.message("", &vars(&[])).expect("fill"),
            "Write a haiku."
        );
        assert_eq!(
            plain.message("about rain", &vars(&[])).expect("fill"),
            "Write a haiku.\n\nabout rain"
        );
    }
}
