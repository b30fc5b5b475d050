//! Documentation generated from the code is current.

/// docs/configuration.md is `glaux settings`' output: every key of
/// `SETTINGS`, and only those, with its variable, default and meaning.
#[test]
fn configuration_reference_lists_exactly_the_settings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let written = std::fs::read_to_string(path).unwrap();
    let generated = glaux::config::settings_markdown();
    let keys = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(String::from)
            .collect()
    };
    assert_eq!(keys(&written), glaux::config::SETTINGS.iter().map(|s| s.key.to_string()).collect::<Vec<_>>());
    assert!(
        written == generated,
        "docs/configuration.md is stale: regenerate it with `cargo run -- settings > docs/configuration.md`"
    );
}
