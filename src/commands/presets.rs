//! `confab presets`: list the presets (built-in and the config dir's
//! `presets/*.toml`), show one, or edit one in `$EDITOR` (a built-in one is
//! copied to the config dir first, so the copy wins from then on).

use std::io::Write;
use std::process::ExitCode;

use crate::config::Paths;
use crate::exit::{ExitKind, Failure};
use crate::presets::{PresetError, PresetSource, PresetStore};

/// `confab presets` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the presets: name, where it comes from, description
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a preset's file
    Show {
        /// The preset
        name: String,
    },
    /// Open a preset in $VISUAL or $EDITOR (a new one starts from a skeleton,
    /// a built-in one from its text), then check it
    Edit {
        /// The preset
        name: String,
    },
}

/// What a new preset starts as.
const SKELETON: &str = r#"# A confab preset: `confab chat -p NAME`. Every key is optional; flags
# given to `confab chat` override these.
description = "What this preset is for"
# system = "You are ..."
template = """{input}"""   # {input}: the message or piped stdin; {other}: --var other=...
# model = "openai:gpt-4o-mini"
# temperature = 0
# max_tokens = 800
# schema = "reply.schema.json"   # relative to this directory
# tools = ["read_doc"]           # only these tools; [] for none
# rag = "handbook"
# tags = ["my-preset"]
"#;

/// Runs `confab presets`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let store = PresetStore::in_config_dir(&paths.config_dir);
    match command {
        Command::List { json } => list(&store, json),
        Command::Show { name } => show(&store, &name),
        Command::Edit { name } => edit(&store, &name),
    }
}

fn list(store: &PresetStore, json: bool) -> anyhow::Result<ExitCode> {
    let presets = store.list();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &presets)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = presets.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for preset in &presets {
        let source = match &preset.source {
            PresetSource::Builtin => "built-in".to_string(),
            PresetSource::File(path) => path.display().to_string(),
        };
        let mark = if preset.ok { "" } else { "BROKEN: " };
        writeln!(
            out,
            "{:width$}  {mark}{}  ({source})",
            preset.name, preset.description
        )?;
    }
    writeln!(
        out,
        "\nuse one with `confab chat -p NAME`; add your own in {}",
        store.dir().display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn show(store: &PresetStore, name: &str) -> anyhow::Result<ExitCode> {
    let loaded = store.load(name).map_err(usage)?;
    if let PresetSource::File(path) = &loaded.source {
        eprintln!("{}", crate::term::dim(&format!("# {}", path.display())));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(loaded.text.as_bytes())?;
    if !loaded.text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn edit(store: &PresetStore, name: &str) -> anyhow::Result<ExitCode> {
    let path = store.path_of(name).map_err(usage)?;
    if !path.exists() {
        std::fs::create_dir_all(store.dir())?;
        let start = PresetStore::builtin_text(name).unwrap_or(SKELETON);
        crate::private_files::create_new(&path)
            .and_then(|mut file| file.write_all(start.as_bytes()))
            .map_err(|err| anyhow::anyhow!("creating {}: {err}", path.display()))?;
    }
    crate::term::editor::edit(&path).map_err(|err| {
        Failure::new(ExitKind::Other, err.to_string())
            .hint(format!("the file is kept at {}", path.display()))
    })?;
    match store.load(name) {
        Ok(_) => {
            eprintln!("preset `{name}` saved in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Err(Failure::new(ExitKind::Usage, err.to_string())
            .hint(format!(
                "the file is kept as you left it at {}; run `confab presets edit {name}` again to fix it",
                path.display()
            ))
            .into()),
    }
}

/// A preset that cannot be found or read, as a usage error.
fn usage(err: PresetError) -> Failure {
    Failure::new(ExitKind::Usage, err.to_string()).hint("`confab presets list` shows the presets")
}
