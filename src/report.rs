//! The HTML report of a plan: one self-contained page (inline SVG and CSS, no script, no
//! network) with the hosts, namespaces, networks, the upgrade timeline, the diagnosis, the
//! objective and the stats per step. It reads the plan document as JSON, so a plan made earlier
//! (`vksplan report PLAN.json --topology FILE`) gives the same page as `plan --format html`.
//!
//! Every host bar is a `<g class="host-bar" data-host=NAME>` and every wave column a
//! `<g class="wave" data-wave=N>`: the browser test counts them.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use vksplan::model::Inventory;
use vksplan_model::{HostId, VmId};

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// The colour of a diagnosis layer.
fn layer_colour(layer: &str) -> &'static str {
    match layer {
        "infrastructure" => "#b45309",
        "supervisor" => "#7c3aed",
        "namespace" => "#0369a1",
        "cluster" => "#047857",
        "rule" => "#be185d",
        _ => "#4b5563",
    }
}

const STYLE: &str =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;background:#fff}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\
h3{font-size:15px}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;\
border-bottom:1px solid #eee}.badge{display:inline-block;padding:0 6px;border-radius:4px;\
color:#fff;font-size:12px}.scroll{overflow:auto;max-width:100%;border:1px solid #eee}\
.legend span{display:inline-block;margin-right:14px}.swatch{display:inline-block;width:10px;\
height:10px;margin-right:4px;vertical-align:middle}text{font:11px system-ui,sans-serif}";

/// A horizontal bar of `width` px: `parts` (value, colour) against `limit`.
fn bar(x: f64, y: f64, width: f64, parts: &[(f64, &str)], limit: f64) -> String {
    let mut svg = format!(
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"10\" fill=\"#f3f4f6\" stroke=\"#d1d5db\"/>"
    );
    let mut at = x;
    for (value, colour) in parts {
        let w = if limit > 0.0 {
            (value / limit * width).clamp(0.0, width)
        } else {
            0.0
        };
        let _ = write!(
            svg,
            "<rect x=\"{at:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"10\" fill=\"{colour}\"/>"
        );
        at += w;
    }
    svg
}

/// Host and VM names to their indices, built once per page (a plan names them by name).
struct Index<'a> {
    hosts: BTreeMap<&'a str, usize>,
    vms: BTreeMap<&'a str, usize>,
}

impl<'a> Index<'a> {
    fn new(inventory: &'a Inventory) -> Index<'a> {
        Index {
            hosts: inventory
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| (h.name.as_str(), i))
                .collect(),
            vms: inventory
                .vms
                .iter()
                .enumerate()
                .map(|(i, v)| (v.name.as_str(), i))
                .collect(),
        }
    }
}

/// The page.
pub fn render(inventory: Option<&Inventory>, plan: &Value) -> String {
    let mut html = String::new();
    let status = plan["status"].as_str().unwrap_or("?");
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>vksplan plan: {}</title><style>{STYLE}</style></head><body>",
        escape(status)
    );
    let _ = write!(html, "<h1>vksplan plan: {}</h1>", escape(status));
    what_if(&mut html, plan);
    objective(&mut html, plan);
    if let Some(inventory) = inventory {
        hosts(&mut html, inventory, plan);
        let index = Index::new(inventory);
        namespaces(&mut html, inventory, &index, plan);
        networks(&mut html, inventory, &index, plan);
        upgrade(&mut html, inventory, &index, plan);
    }
    diagnosis(&mut html, plan);
    html.push_str("</body></html>\n");
    html
}

/// With `--what-if`: the changes and what they changed (the page draws the changed platform).
fn what_if(html: &mut String, plan: &Value) {
    let Some(block) = plan["what_if"].as_object() else {
        return;
    };
    let list = |value: &Value| -> String {
        let items: Vec<String> = value
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| escape(v.as_str().unwrap_or(&v.to_string())))
            .collect();
        if items.is_empty() {
            "none".into()
        } else {
            items.join(", ")
        }
    };
    let difference = &block["difference"];
    let moved = difference["vms_moved"].as_object().map_or(0, |m| m.len());
    let _ = write!(
        html,
        "<h2>What if</h2><p>This page draws the plan with the changes: {}.</p><table>\
         <tr><td>status</td><td>{} &rarr; {}</td></tr><tr><td>newly admitted</td><td>{}</td></tr>\
         <tr><td>newly rejected</td><td>{}</td></tr><tr><td>VMs placed / removed / moved</td>\
         <td>{} / {} / {moved}</td></tr></table>",
        list(&block["changes"]),
        escape(block["before"]["status"].as_str().unwrap_or("?")),
        escape(block["after"]["status"].as_str().unwrap_or("?")),
        list(&difference["admitted"]),
        list(&difference["rejected"]),
        difference["vms_placed"].as_array().map_or(0, Vec::len),
        difference["vms_removed"].as_array().map_or(0, Vec::len),
    );
}

/// Whether the plan names only VMs and hosts of `inventory` (a plan of another platform would
/// draw nonsense); the first name it does not know.
pub fn foreign_name(inventory: &Inventory, plan: &Value) -> Option<String> {
    let index = Index::new(inventory);
    let (vms, hosts) = (&index.vms, &index.hosts);
    for (vm, host) in plan["placement"].as_object().into_iter().flatten() {
        if !vms.contains_key(vm.as_str()) {
            return Some(format!("VM `{vm}`"));
        }
        let host = host.as_str().unwrap_or("");
        if !hosts.contains_key(host) {
            return Some(format!("host `{host}`"));
        }
    }
    None
}

fn objective(html: &mut String, plan: &Value) {
    html.push_str("<h2>Objective</h2>");
    match plan["objective"].as_object() {
        Some(objective) => {
            html.push_str("<table><tr><th>step</th><th>value</th></tr>");
            for (key, value) in objective {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(key),
                    escape(&value.to_string())
                );
            }
            html.push_str("</table>");
        }
        None => html.push_str("<p>No placement.</p>"),
    }
    if let Some(steps) = plan["stats"]["steps"].as_array() {
        html.push_str("<h3>Steps</h3><table><tr><th>step</th><th>status</th><th>value</th><th>bound</th><th>seconds</th></tr>");
        for step in steps {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td></tr>",
                escape(step["step"].as_str().unwrap_or("")),
                escape(step["status"].as_str().unwrap_or("")),
                escape(&step["value"].to_string()),
                escape(&step["bound"].to_string()),
                number(&step["seconds"])
            );
        }
        html.push_str("</table>");
    }
    if let Some(rejected) = plan["rejected"].as_array().filter(|r| !r.is_empty()) {
        let names: Vec<String> = rejected
            .iter()
            .filter_map(Value::as_str)
            .map(escape)
            .collect();
        let _ = write!(html, "<p>Not admitted: {}</p>", names.join(", "));
    }
}

fn hosts(html: &mut String, inventory: &Inventory, plan: &Value) {
    html.push_str("<h2>Hosts</h2><p class=\"legend\"><span><i class=\"swatch\" style=\"background:#1d4ed8\"></i>reserved</span><span><i class=\"swatch\" style=\"background:#93c5fd\"></i>other</span><span>bars against the allowed limit (cores &times; overcommit; memory &times; overcommit)</span></p>");
    let usage = &plan["usage"]["hosts"];
    let mut zones: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, host) in inventory.hosts.iter().enumerate() {
        let zone = host
            .zone
            .and_then(|z| inventory.zones.get(z))
            .cloned()
            .unwrap_or_else(|| "no zone".into());
        zones.entry(zone).or_default().push(index);
    }
    for (zone, members) in zones {
        let _ = write!(html, "<h3>{} ({} hosts)</h3>", escape(&zone), members.len());
        let row = 16.0;
        let height = row * members.len() as f64 + 20.0;
        let _ = write!(
            html,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"980\" height=\"{height:.0}\" role=\"img\"><text x=\"170\" y=\"12\">vCPU</text><text x=\"500\" y=\"12\">memory</text>"
        );
        for (line, &index) in members.iter().enumerate() {
            let host = &inventory.hosts[HostId::new(index)];
            let used = &usage[&host.name];
            let y = 20.0 + row * line as f64;
            let vcpus = number(&used["vcpus"]);
            let reserved_vcpus = number(&used["reserved_vcpus"]);
            let memory = number(&used["memory_mib"]);
            let reserved_memory = number(&used["reserved_memory_mib"]);
            let mut label = host.name.clone();
            if host.maintenance {
                label.push_str(" (maintenance)");
            }
            let devices: Vec<String> = host
                .devices
                .iter()
                .map(|(name, count)| {
                    let taken = used["devices"][name].as_u64().unwrap_or(0);
                    format!("{name} {taken}/{count}")
                })
                .collect();
            let _ = write!(
                html,
                "<g class=\"host-bar\" data-host=\"{}\"><text x=\"0\" y=\"{:.1}\"{}>{}</text>{}{}<text x=\"830\" y=\"{:.1}\">{}</text><title>{}: {} of {} vCPUs ({} reserved), {} of {} MiB ({} reserved)</title></g>",
                escape(&host.name),
                y + 9.0,
                if host.maintenance { " fill=\"#b45309\"" } else { "" },
                escape(&label),
                bar(170.0, y, 300.0, &[(reserved_vcpus, "#1d4ed8"), (vcpus - reserved_vcpus, "#93c5fd")], number(&used["vcpu_limit"])),
                bar(500.0, y, 300.0, &[(reserved_memory, "#1d4ed8"), (memory - reserved_memory, "#93c5fd")], number(&used["memory_limit_mib"])),
                y + 9.0,
                escape(&devices.join(", ")),
                escape(&host.name),
                vcpus,
                number(&used["vcpu_limit"]),
                reserved_vcpus,
                memory,
                number(&used["memory_limit_mib"]),
                reserved_memory
            );
        }
        html.push_str("</svg>");
    }
}

fn usage_row(html: &mut String, label: &str, used: f64, limit: Option<f64>, unit: &str) {
    let limit_text = limit.map_or("no limit".to_string(), |l| format!("{l} {unit}"));
    let scale = limit.unwrap_or(used.max(1.0));
    let colour = match limit {
        None => "#9ca3af",
        Some(l) if used > l * 0.9 => "#dc2626",
        Some(_) => "#0ea5e9",
    };
    let _ = write!(
        html,
        "<tr><td>{}</td><td><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"310\" height=\"12\">{}</svg></td><td>{used} {unit} of {}</td></tr>",
        escape(label),
        bar(0.0, 1.0, 300.0, &[(used, colour)], scale),
        escape(&limit_text)
    );
}

fn namespaces(html: &mut String, inventory: &Inventory, index: &Index, plan: &Value) {
    let usage = &plan["usage"]["namespaces"];
    if inventory.namespaces.is_empty() {
        return;
    }
    html.push_str("<h2>Namespaces</h2>");
    // Per zone, for the third of each limit a 3-zone Supervisor allows per zone.
    let mut per_zone: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    if inventory.three_zone {
        for vm in &inventory.vms {
            let group = &inventory.groups[vm.group];
            let (Some(namespace), Some(host)) = (
                group.namespace,
                plan["placement"][&vm.name]
                    .as_str()
                    .and_then(|h| index.hosts.get(h)),
            ) else {
                continue;
            };
            let Some(zone) = inventory.hosts[HostId::new(*host)].zone else {
                continue;
            };
            let entry = per_zone.entry((namespace, zone)).or_default();
            entry.0 += f64::from(group.vcpus) * inventory.policy.vcpu_mhz as f64;
            entry.1 += group.memory.as_mib_f64();
        }
    }
    for (index, namespace) in inventory.namespaces.iter().enumerate() {
        let used = &usage[&namespace.name];
        let _ = write!(
            html,
            "<h3 class=\"namespace\" data-namespace=\"{0}\">{0}</h3><table>",
            escape(&namespace.name)
        );
        usage_row(
            html,
            "CPU",
            number(&used["cpu_mhz"]),
            used["cpu_mhz_limit"].as_f64(),
            "MHz",
        );
        usage_row(
            html,
            "memory",
            number(&used["memory_mib"]),
            used["memory_limit_mib"].as_f64(),
            "MiB",
        );
        if let Some(storage) = used["storage_mib"].as_object() {
            for (policy, amount) in storage {
                usage_row(
                    html,
                    &format!("storage {policy}"),
                    number(amount),
                    used["storage_limit_mib"][policy].as_f64(),
                    "MiB",
                );
            }
        }
        for (zone_index, zone) in inventory.zones.iter().enumerate() {
            if let Some((cpu, memory)) = per_zone.get(&(index, zone_index)) {
                usage_row(
                    html,
                    &format!("CPU in {zone}"),
                    *cpu,
                    namespace.cpu_mhz_limit.map(|l| (l / 3) as f64),
                    "MHz",
                );
                usage_row(
                    html,
                    &format!("memory in {zone}"),
                    *memory,
                    namespace.memory_limit.map(|l| l.as_mib_f64() / 3.0),
                    "MiB",
                );
            }
        }
        html.push_str("</table>");
    }
}

/// The network whose workload addresses a VM's copies take.
fn workload_network(inventory: &Inventory, vm: usize) -> Option<usize> {
    match inventory.groups[inventory.vms[VmId::new(vm)].group].namespace {
        Some(namespace) => Some(inventory.namespaces[namespace].workload_network),
        None => inventory.supervisor.as_ref().map(|s| s.networks.workload),
    }
}

fn networks(html: &mut String, inventory: &Inventory, index: &Index, plan: &Value) {
    let usage = &plan["usage"]["networks"];
    if inventory.networks.is_empty() {
        return;
    }
    // The peak during the upgrade: a created copy takes an address from its wave's peak until
    // the wave that deletes the old copy (a migration takes none).
    let mut peak: BTreeMap<usize, i64> = BTreeMap::new();
    if let Some(waves) = plan["upgrade"]["waves"].as_array() {
        let mut outstanding: BTreeMap<usize, i64> = BTreeMap::new();
        for wave in waves {
            let actions = wave.as_array().cloned().unwrap_or_default();
            let network_of = |action: &Value| {
                action["vm"]
                    .as_str()
                    .and_then(|v| index.vms.get(v))
                    .and_then(|vm| workload_network(inventory, *vm))
            };
            for action in &actions {
                if action["op"] == "create" {
                    if let Some(network) = network_of(action) {
                        *outstanding.entry(network).or_default() += 1;
                    }
                }
            }
            for (network, count) in &outstanding {
                let best = peak.entry(*network).or_default();
                *best = (*best).max(*count);
            }
            for action in &actions {
                if action["op"] == "delete" {
                    if let Some(network) = network_of(action) {
                        *outstanding.entry(network).or_default() -= 1;
                    }
                }
            }
        }
    }
    html.push_str("<h2>Networks</h2><table>");
    for (index, network) in inventory.networks.iter().enumerate() {
        let used = number(&usage[&network.name]["used"]);
        usage_row(
            html,
            &format!("{} ({})", network.name, network.kind.as_str()),
            used,
            Some(f64::from(network.ips)),
            "addresses",
        );
        if let Some(extra) = peak.get(&index).filter(|e| **e > 0) {
            usage_row(
                html,
                &format!("{}, peak during the upgrade", network.name),
                used + *extra as f64,
                Some(f64::from(network.ips)),
                "addresses",
            );
        }
    }
    html.push_str("</table>");
}

/// What the upgrade timeline shows, wave by wave.
struct Timeline {
    /// Per wave: (host, colour) of each create, migration (at its destination) and delete (at
    /// the old copy's host).
    marks: Vec<Vec<(usize, &'static str)>>,
    /// (host, from wave, to wave) of each stay in maintenance.
    spans: Vec<(usize, usize, usize)>,
    /// Per cluster (`NS/CLUSTER`): its first and last wave with a new or deleted copy.
    rolls: BTreeMap<String, (usize, usize)>,
}

/// The timeline of `waves`, replaying where each VM's copies are from the plan's placement.
fn timeline(inventory: &Inventory, index: &Index, plan: &Value, waves: &[Value]) -> Timeline {
    let host_row = &index.hosts;
    // Where each VM is, to place deletes (the old copy's host).
    let mut at: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(placement) = plan["placement"].as_object() {
        for (vm, host) in placement {
            at.insert(vm.clone(), vec![host.as_str().unwrap_or("").to_string()]);
        }
    }
    // Clusters: first and last wave with an action on one of their VMs.
    let cluster_of = |vm: &str| -> Option<String> {
        let group = &inventory.groups[inventory.vms[VmId::new(*index.vms.get(vm)?)].group];
        let cluster = group.cluster()?;
        Some(format!(
            "{}/{}",
            inventory.namespaces[inventory.clusters[cluster].namespace].name,
            inventory.clusters[cluster].name
        ))
    };
    let mut rolls: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut marks: Vec<Vec<(usize, &'static str)>> = vec![Vec::new(); waves.len()];
    let mut in_maintenance: Vec<Option<usize>> = vec![None; inventory.hosts.len()];
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (w, wave) in waves.iter().enumerate() {
        for action in wave.as_array().into_iter().flatten() {
            let vm = action["vm"].as_str().unwrap_or("");
            // A cluster is mid-roll from its first new copy to its last deleted old one.
            if matches!(action["op"].as_str(), Some("create" | "delete")) {
                if let Some(cluster) = cluster_of(vm) {
                    let span = rolls.entry(cluster).or_insert((w, w));
                    span.1 = w;
                }
            }
            let mut mark = |host: &str, colour: &'static str| {
                if let Some(&h) = host_row.get(host) {
                    marks[w].push((h, colour));
                }
            };
            match action["op"].as_str().unwrap_or("") {
                "enter_maintenance" => {
                    if let Some(&h) = action["host"].as_str().and_then(|h| host_row.get(h)) {
                        in_maintenance[h] = Some(w);
                    }
                }
                "exit_maintenance" => {
                    if let Some(&h) = action["host"].as_str().and_then(|h| host_row.get(h)) {
                        if let Some(from) = in_maintenance[h].take() {
                            spans.push((h, from, w));
                        }
                    }
                }
                "create" => {
                    let host = action["host"].as_str().unwrap_or("");
                    mark(host, "#16a34a");
                    at.entry(vm.to_string()).or_default().push(host.to_string());
                }
                "migrate" => {
                    let to = action["to"].as_str().unwrap_or("");
                    mark(to, "#2563eb");
                    at.insert(vm.to_string(), vec![to.to_string()]);
                }
                "delete" => {
                    let copies = at.entry(vm.to_string()).or_default();
                    if !copies.is_empty() {
                        let old = copies.remove(0);
                        mark(&old, "#dc2626");
                    }
                }
                _ => {}
            }
        }
    }
    for (h, from) in in_maintenance.iter().enumerate() {
        if let Some(from) = from {
            spans.push((h, *from, waves.len()));
        }
    }
    Timeline {
        marks,
        spans,
        rolls,
    }
}

fn upgrade(html: &mut String, inventory: &Inventory, index: &Index, plan: &Value) {
    let Some(upgrade) = plan["upgrade"].as_object() else {
        return;
    };
    let waves = upgrade
        .get("waves")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let _ = write!(
        html,
        "<h2>Upgrade</h2><p>status {}, {} waves, lower bound {}</p>",
        escape(upgrade.get("status").and_then(Value::as_str).unwrap_or("?")),
        waves.len(),
        escape(
            &upgrade
                .get("lower_bound_waves")
                .unwrap_or(&Value::Null)
                .to_string()
        )
    );
    if waves.is_empty() {
        return;
    }
    html.push_str("<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#9ca3af\"></i>maintenance</span><span><i class=\"swatch\" style=\"background:#16a34a\"></i>create</span><span><i class=\"swatch\" style=\"background:#2563eb\"></i>migrate (to)</span><span><i class=\"swatch\" style=\"background:#dc2626\"></i>delete</span><span><i class=\"swatch\" style=\"background:#f59e0b\"></i>cluster mid-roll</span></p>");
    let Timeline {
        marks,
        spans,
        rolls,
    } = timeline(inventory, index, plan, &waves);
    let cell = if waves.len() > 200 { 4.0 } else { 12.0 };
    let row = if inventory.hosts.len() > 100 {
        6.0
    } else {
        12.0
    };
    let left = 150.0;
    let width = left + cell * waves.len() as f64 + 10.0;
    let height = 20.0 + row * inventory.hosts.len() as f64 + 14.0 * rolls.len() as f64 + 10.0;
    let _ = write!(
        html,
        "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\">"
    );
    for (h, host) in inventory.hosts.iter().enumerate() {
        if row >= 10.0 || h % 8 == 0 {
            let _ = write!(
                html,
                "<text x=\"0\" y=\"{:.1}\">{}</text>",
                20.0 + row * h as f64 + row - 2.0,
                escape(&host.name)
            );
        }
    }
    for (h, from, to) in spans {
        let _ = write!(
            html,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{row:.1}\" fill=\"#9ca3af\" opacity=\"0.6\"/>",
            left + cell * from as f64,
            20.0 + row * h as f64,
            cell * (to - from) as f64
        );
    }
    for (w, wave_marks) in marks.iter().enumerate() {
        let x = left + cell * w as f64;
        let mut mark = String::new();
        for (h, colour) in wave_marks {
            let _ = write!(
                mark,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{cell:.1}\" height=\"{row:.1}\" fill=\"{colour}\"/>",
                20.0 + row * *h as f64
            );
        }
        let _ = write!(
            html,
            "<g class=\"wave\" data-wave=\"{}\"><title>wave {}</title>{mark}</g>",
            w + 1,
            w + 1
        );
        // A number every few waves, where there is room for it.
        if w % (24.0 / cell).ceil() as usize == 0 {
            let _ = write!(
                html,
                "<text x=\"{:.1}\" y=\"12\">{}</text>",
                left + cell * w as f64,
                w + 1
            );
        }
    }
    let top = 20.0 + row * inventory.hosts.len() as f64 + 4.0;
    for (i, (cluster, (from, to))) in rolls.iter().enumerate() {
        let y = top + 14.0 * i as f64;
        let _ = write!(
            html,
            "<g class=\"roll\" data-cluster=\"{0}\"><text x=\"0\" y=\"{1:.1}\">{0}</text><rect x=\"{2:.1}\" y=\"{3:.1}\" width=\"{4:.1}\" height=\"10\" fill=\"#f59e0b\"/></g>",
            escape(cluster),
            y + 9.0,
            left + cell * *from as f64,
            y,
            cell * (to - from + 1) as f64
        );
    }
    html.push_str("</svg></div>");
}

fn diagnosis(html: &mut String, plan: &Value) {
    let entries = plan["diagnosis"].as_array().cloned().unwrap_or_default();
    let _ = write!(html, "<h2>Diagnosis ({} entries)</h2>", entries.len());
    if entries.is_empty() {
        return;
    }
    html.push_str("<table><tr><th>layer</th><th>subject</th><th>constraint</th><th>message</th><th>hint</th></tr>");
    for entry in &entries {
        let layer = entry["layer"].as_str().unwrap_or("");
        let fix: Vec<String> = entry["fix"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(escape)
            .collect();
        let fix = if fix.is_empty() {
            String::new()
        } else {
            format!("<br><code>{}</code>", fix.join("</code> <code>"))
        };
        let _ = write!(
            html,
            "<tr class=\"diagnosis\"><td><span class=\"badge\" style=\"background:{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}{fix}</td></tr>",
            layer_colour(layer),
            escape(layer),
            escape(entry["subject"].as_str().unwrap_or("")),
            escape(entry["constraint"].as_str().unwrap_or("")),
            escape(entry["message"].as_str().unwrap_or("")),
            escape(entry["hint"].as_str().unwrap_or(""))
        );
    }
    html.push_str("</table>");
}
