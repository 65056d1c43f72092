//! The JSON Schemas of docs/schema/: the committed files are what `vksplan schema` generates;
//! every valid fixture validates against the input schema (checked by the `jsonschema` crate);
//! an unknown field anywhere in a fixture is refused by the schema and by the decoder alike; and
//! the plans of the fixtures validate against the plan schema.

mod common;

use serde_json::Value;

fn committed(name: &str) -> Value {
    let path = common::root().join("docs/schema").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("the schema is not valid: {e}"))
}

fn valid_fixtures() -> Vec<std::path::PathBuf> {
    let mut files = common::fixtures("");
    files.extend(common::fixtures("cases"));
    files
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    assert_eq!(
        committed("input.json"),
        vksplan_model::schema::input(),
        "docs/schema/input.json is stale: run `vksplan schema input > docs/schema/input.json`"
    );
    assert_eq!(
        committed("plan.json"),
        vksplan_model::schema::plan(),
        "docs/schema/plan.json is stale: run `vksplan schema plan > docs/schema/plan.json`"
    );
}

#[test]
fn every_valid_fixture_validates_against_the_input_schema() {
    let validator = validator(&committed("input.json"));
    let fixtures = valid_fixtures();
    assert!(fixtures.len() >= 30);
    for path in fixtures {
        let document = read(&path);
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn shape_errors_are_refused_by_the_schema_and_the_decoder_alike() {
    let validator = validator(&committed("input.json"));
    let base = read(&common::root().join("fixtures/reference.json"));
    assert!(vksplan_model::load_value(&base).is_ok());
    let mut broken = Vec::new();
    // An unknown field in every object that is not a map of names.
    let mut objects = Vec::new();
    pointers(&base, String::new(), &mut objects);
    assert!(objects.len() > 20, "{objects:?}");
    for pointer in &objects {
        let mut document = base.clone();
        if let Some(Value::Object(map)) = document.pointer_mut(pointer) {
            map.insert("zz_unknown_field".into(), Value::from(1));
        }
        broken.push((format!("unknown field at `{pointer}`"), document));
    }
    // Wrong types and ranges.
    for (pointer, value) in [
        ("/version", Value::from(2)),
        ("/hosts/0/cpu_cores", Value::from(0)),
        ("/hosts/0/cpu_cores", Value::from("32")),
        ("/hosts/0/memory", Value::from("12 GiB")),
        ("/hosts/0/memory", Value::from("1e3Gi")),
        ("/hosts/0/name", Value::from("Esx_01")),
        ("/policy/objective", Value::from("fastest")),
        ("/policy/time_limit_s", Value::from(0)),
        ("/networks/0/kind", Value::from("storage")),
        ("/hosts", Value::Array(Vec::new())),
        ("/supervisor/control_plane/replicas", Value::from(2)),
        ("/supervisor/control_plane/size", Value::Null),
        (
            "/namespaces/0/clusters/0/control_plane/replicas",
            Value::from(2),
        ),
    ] {
        let mut document = base.clone();
        if let Some(slot) = document.pointer_mut(pointer) {
            *slot = value.clone();
        } else {
            panic!("the reference fixture has no `{pointer}`");
        }
        broken.push((format!("`{pointer}` = {value}"), document));
    }
    // A required field left out.
    let mut document = base.clone();
    if let Some(Value::Object(control_plane)) = document.pointer_mut("/supervisor/control_plane") {
        control_plane.remove("size");
    }
    broken.push(("no supervisor.control_plane.size".into(), document));
    for (what, document) in broken {
        assert!(!validator.is_valid(&document), "the schema accepts {what}");
        assert!(
            vksplan_model::load_value(&document).is_err(),
            "the decoder accepts {what}"
        );
    }
}

/// JSON pointers of every object in `value` except maps keyed by names (devices, placement,
/// namespace storage limits, the clusters of an upgrade).
fn pointers(value: &Value, pointer: String, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            found.push(pointer.clone());
            for (key, child) in map {
                let is_map = child.is_object()
                    && matches!(
                        key.as_str(),
                        "devices" | "placement" | "storage" | "clusters"
                    );
                if !is_map {
                    pointers(child, format!("{pointer}/{key}"), found);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn the_plans_of_the_fixtures_validate_against_the_plan_schema() {
    let validator = validator(&committed("plan.json"));
    let mut statuses = std::collections::BTreeSet::new();
    for path in valid_fixtures() {
        let document = std::fs::read(&path).unwrap_or_default();
        let options = vksplan_solver::Options::default();
        let plan = vksplan_solver::plan_bytes(&document, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        statuses.insert(plan.status.as_str());
        let value: Value = serde_json::from_str(&plan.to_json()).unwrap_or_default();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    // Plans with and without a placement were checked.
    assert!(
        statuses.contains("optimal") && statuses.contains("infeasible"),
        "{statuses:?}"
    );
    // And an invalid document's plan.
    let invalid =
        vksplan_solver::plan_bytes(b"{\"version\": 1}", &vksplan_solver::Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
    let value: Value = serde_json::from_str(&invalid.to_json()).unwrap_or_default();
    assert!(validator.is_valid(&value));
}
