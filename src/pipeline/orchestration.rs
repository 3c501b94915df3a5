//! The keys of a stage that say when and how often it runs, not what it
//! does: `needs`, `retries`, `retry-delay`, `timeout`.

use std::time::Duration;

use super::stage::StageCtx;

/// The wait before a stage's first retry when the file does not say.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(10);

impl StageCtx<'_> {
    /// `needs = ["stage", …]`: names only; whether they exist is checked
    /// with the whole graph.
    pub(super) fn needs(&mut self) -> Vec<String> {
        match self.raw.get("needs") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) if items.iter().all(|v| v.is_str()) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                self.problem(
                    "needs",
                    "needs must be a list of stage names, e.g. needs = [\"ingest-city\"]",
                );
                Vec::new()
            }
        }
    }

    /// `retries = N`, `retry-delay = "10s"`, `timeout = "30m"`.
    #[allow(clippy::type_complexity)]
    pub(super) fn retry_policy(
        &mut self,
    ) -> (Option<u32>, Option<Duration>, Option<Option<Duration>>) {
        let retries = match self.raw.get("retries") {
            None => Some(0),
            Some(toml::Value::Integer(n)) if (0..=100).contains(n) => Some(*n as u32),
            Some(_) => {
                self.problem("retries", "retries must be a whole number from 0 to 100");
                None
            }
        };
        let mut duration = |key: &str| -> Option<Option<Duration>> {
            let Some(text) = self.string(key) else {
                return Some(None);
            };
            match crate::stream::options::parse_duration(&text) {
                Ok(d) if key == "timeout" && d.is_zero() => {
                    self.problem(key, "timeout must be more than 0s");
                    None
                }
                Ok(d) => Some(Some(d)),
                Err(e) => {
                    self.problem(key, format!("{key}: {e}"));
                    None
                }
            }
        };
        let delay = duration("retry-delay").map(|d| d.unwrap_or(DEFAULT_RETRY_DELAY));
        let timeout = duration("timeout");
        (retries, delay, timeout)
    }
}
