//! The libraries name settings as `key`, in backticks, with config.toml's names
//! (`train_subset`, `gamma`, `force`); this program spells each one as its flag
//! (`--train-subset`). [`spell`] does it for every message of a library this program prints,
//! reading the flags from the command-line definition itself, so a renamed flag is one edit in
//! `flags/` and no library changes.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The command this process runs (set once the command line is read): messages are spelled
/// with its flags only, so none names a flag it does not take.
static COMMAND: OnceLock<String> = OnceLock::new();

/// Spells every later message with the flags of the subcommand `name` ([`spell`]).
pub fn for_command(name: &str) {
    let _ = COMMAND.set(name.to_string());
}

/// The long flags of the running command (of every command before it is known), by the
/// setting's name (`train_subset` → `train-subset`). A grid's list flag also stands for the
/// setting it varies, when the command does not take that setting as a flag (`beta` →
/// `betas` in `figure1`).
fn flags() -> &'static HashMap<String, String> {
    static FLAGS: OnceLock<HashMap<String, String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let mut map = HashMap::new();
        let root = crate::flags::command();
        let mut stack: Vec<clap::Command> = match COMMAND.get() {
            Some(name) => root.find_subcommand(name).cloned().into_iter().collect(),
            None => vec![root],
        };
        while let Some(cmd) = stack.pop() {
            for arg in cmd.get_arguments() {
                if let Some(long) = arg.get_long() {
                    map.insert(long.replace('-', "_"), long.to_string());
                }
            }
            for axis in meanfield_study::axes::Axis::ALL {
                if cmd
                    .get_arguments()
                    .any(|a| a.get_long() == Some(&axis.flag()[2..]))
                {
                    map.entry(axis.setting().to_string())
                        .or_insert_with(|| axis.flag()[2..].to_string());
                }
            }
            stack.extend(cmd.get_subcommands().cloned());
        }
        map
    })
}

/// `message` with each `key` that is a flag of this program written as `--flag`; any other
/// backticked text is left as it is.
pub fn spell(message: &str) -> String {
    // A TOML error quotes the file's own keys: they stay as written there.
    if let Some(at) = message.find("TOML parse error") {
        return format!("{}{}", spell(&message[..at]), &message[at..]);
    }
    let flags = flags();
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let is_key = inner.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && inner
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        match flags.get(inner).filter(|_| is_key) {
            Some(long) => {
                out.push_str("--");
                out.push_str(long);
            }
            None => {
                out.push('`');
                out.push_str(inner);
                out.push('`');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::spell;

    /// Settings become flags (dashes for underscores); other code spans, and a lone backtick,
    /// stay as they are.
    #[test]
    fn settings_are_spelled_as_flags() {
        assert_eq!(
            spell("lower `gamma` (or `beta`), raise `train_subset`"),
            "lower --gamma (or --beta), raise --train-subset"
        );
        assert_eq!(
            spell("config `resume` `force`: give one"),
            "config --resume --force: give one"
        );
        assert_eq!(
            spell("but `readout_init` is `pytorch`; `identical_particles = true` or `x`"),
            "but --readout-init is `pytorch`; `identical_particles = true` or `x`"
        );
        assert_eq!(spell("a lone ` stays"), "a lone ` stays");
        assert_eq!(spell("`widths` of a study"), "--widths of a study");
    }
}
