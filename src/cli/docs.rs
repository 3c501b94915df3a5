//! Generated documentation: shell completions and man pages, both from the
//! clap definitions, so they never drift from the flags.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use etl::error::{Error, Result};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write etl.1 and one etl-COMMAND.1 per subcommand into.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "etl", &mut std::io::stdout());
    Ok(())
}

pub fn man(args: ManArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::from(e).context(args.dir.display()))?;
    let cmd = super::Cli::command().disable_help_subcommand(true);
    render(&cmd, "etl", &args.dir)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("etl-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        render(&sub, &name, &args.dir)?;
        // Nested commands (etl model fit): etl-model-fit.1.
        for nested in sub
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            let name = format!("{name}-{}", nested.get_name());
            let nested = nested
                .clone()
                .name(name.clone())
                .version(env!("CARGO_PKG_VERSION"));
            render(&nested, &name, &args.dir)?;
        }
    }
    Ok(())
}

fn render(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    std::fs::write(dir.join(format!("{name}.1")), buf)?;
    Ok(())
}
