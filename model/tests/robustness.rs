//! Bad input never panics: truncated fixtures, random bytes, and random JSON values all come
//! back as input errors.

#[path = "../../solver/tests/common/files.rs"]
mod common;

use proptest::prelude::*;

#[test]
fn every_truncation_of_every_fixture_is_an_error_not_a_panic() {
    for path in common::fixtures("") {
        let text = std::fs::read(&path).unwrap_or_default();
        for cut in (0..text.len()).step_by(13) {
            let result = vksplan_model::load_bytes(&text[..cut]);
            assert!(
                result.is_err(),
                "{} cut at {cut} was accepted",
                path.display()
            );
        }
    }
}

#[test]
fn three_independent_mistakes_are_all_reported() {
    let text = std::fs::read_to_string(common::root().join("fixtures/invalid/three-mistakes.json"))
        .unwrap_or_default();
    let errors = vksplan_model::load(&text)
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
    let paths: Vec<&str> = errors.iter().filter_map(|e| e.path.as_deref()).collect();
    assert_eq!(
        paths,
        [
            "hosts[2].memroy",
            "namespaces[1].clusters[0].kubernetes_version",
            "namespaces[0].clusters[0].node_pools[0].vm_class"
        ]
    );
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "[a-z0-9./*-]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("16Gi"),
            Just("1.5Ti"),
            Just("1e3"),
            Just("esx-01"),
            Just("v1.31.4")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("hosts".to_string()),
                    Just("version".to_string()),
                    Just("namespaces".to_string()),
                    Just("clusters".to_string()),
                    Just("memory".to_string()),
                    Just("cpu_cores".to_string()),
                    Just("supervisor".to_string()),
                    Just("rules".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = vksplan_model::load_bytes(&bytes);
    }

    #[test]
    fn random_json_never_panics_and_errors_have_paths(value in json_value()) {
        if let Err(invalid) = vksplan_model::load_value(&value) {
            prop_assert!(!invalid.errors.is_empty());
            for error in invalid.errors {
                prop_assert!(error.path.is_some());
            }
        }
    }

    #[test]
    fn mutated_reference_never_panics(cut in 0usize..20_000, byte in any::<u8>()) {
        let mut text = std::fs::read(common::root().join("fixtures/reference.json")).unwrap_or_default();
        if !text.is_empty() {
            let at = cut % text.len();
            text[at] = byte;
        }
        let _ = vksplan_model::load_bytes(&text);
    }
}
