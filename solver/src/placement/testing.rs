//! Small platforms for the placement's unit tests.

use serde_json::{json, Value};
use vksplan_model::Inventory;

/// A host of `cores` cores at 2 GHz with `memory` (`"16Gi"`).
pub fn host(name: &str, cores: u32, memory: &str) -> Value {
    json!({"name": name, "cpu_cores": cores, "cpu_core_mhz": 2000, "memory": memory})
}

/// A VM Service VM of class `class` with a 10 GiB disk.
pub fn vm(name: &str, class: &str) -> Value {
    json!({"name": name, "vm_class": class, "disk": "10Gi"})
}

/// A class of `cpus` vCPUs and `memory`, not reserved.
pub fn class(name: &str, cpus: u32, memory: &str) -> Value {
    json!({"name": name, "cpus": cpus, "memory": memory, "reserved": false})
}

/// `hosts` and one namespace `apps` that may use `classes` (names) and runs `workloads`
/// (`("vms", [...])` or `("clusters", [...])`), with its own workload and load-balancer
/// networks and storage policy; `extra` (an object: `policy`, `vm_classes`, `placement`)
/// joins the document's top level.
pub fn one_namespace(
    hosts: Value,
    classes: &[&str],
    (key, workloads): (&str, Value),
    extra: Value,
) -> Inventory {
    let mut topology = json!({
        "version": 1,
        "hosts": hosts,
        "storage_policies": [{"name": "vsan"}],
        "networks": [
            {"name": "net", "kind": "workload", "ips": 100},
            {"name": "lb", "kind": "load_balancer", "ips": 20}
        ],
        "namespaces": [{
            "name": "apps",
            "vm_classes": classes,
            "storage_policies": ["vsan"],
            "workload_network": "net",
            "load_balancer_network": "lb",
            key: workloads
        }]
    });
    if let (Some(document), Value::Object(extra)) = (topology.as_object_mut(), extra) {
        document.extend(extra);
    }
    match vksplan_model::load_value(&topology) {
        Ok(inventory) => inventory,
        Err(invalid) => panic!("the test topology is invalid: {invalid:?}"),
    }
}
