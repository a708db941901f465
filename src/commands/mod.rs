//! One module per subcommand: the glue between the command line, the core
//! library and the terminal. Each has an `Args` struct and a `run`.

pub mod batch;
pub mod cache;
pub mod chat;
pub mod completions;
pub mod cost_report;
pub mod count_tokens;
pub mod guard;
pub mod history;
pub mod models;
pub mod presets;
pub mod rag;
pub mod replay;
pub mod show_config;
pub mod tools;
pub mod usage;
pub mod values;

use crate::walk::WalkOptions;

/// The directory-walking flags that `count-tokens` and `rag index` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WalkFlags {
    /// Include hidden files and directories
    #[arg(long)]
    pub hidden: bool,

    /// Do not honour .gitignore, .ignore and other ignore files
    #[arg(long)]
    pub no_ignore: bool,

    /// Only include files matching GLOB; `!GLOB` excludes (repeatable)
    #[arg(short, long, value_name = "GLOB")]
    pub glob: Vec<String>,
}

impl WalkFlags {
    /// The walk options these flags ask for.
    pub fn options(&self) -> WalkOptions {
        WalkOptions {
            hidden: self.hidden,
            no_ignore: self.no_ignore,
            globs: self.glob.clone(),
        }
    }
}
