//! `--what-if` parsing and application on the reference fixture: any text gives a changed
//! document or errors, never a panic; a changed document is validated like any input.
#![no_main]

static REFERENCE: &str = include_str!("../../fixtures/reference.json");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(document) = serde_json::from_str::<serde_json::Value>(REFERENCE) else {
        return;
    };
    let changes: Vec<_> = text
        .lines()
        .filter_map(|line| vksplan::model::document::what_if::Change::parse_assignment(line).ok())
        .collect();
    if let Ok(changed) = vksplan::model::document::what_if::apply(&document, &changes) {
        let _ = vksplan::model::load_value(&changed);
    }
});
