//! The `placement` section: where VMs run today.

use super::{Names, Resolver};
use crate::id::{HostId, VmId};
use crate::inventory::VmSlot;
use std::collections::HashMap;

impl Resolver<'_> {
    /// Resolves the current placement into (VM, host) index pairs; an error for each VM or
    /// host that does not exist (the pair is dropped then).
    pub(super) fn placement(&mut self, vms: &[VmSlot], host_names: &Names) -> Vec<(VmId, HostId)> {
        let vm_index: HashMap<&str, usize> = vms
            .iter()
            .enumerate()
            .map(|(i, vm)| (vm.name.as_str(), i))
            .collect();
        let mut placement = Vec::new();
        for (vm, host) in &self.t.placement {
            let path = self.root.key("placement").key(vm);
            let vm_found = vm_index.get(vm.as_str()).copied();
            if vm_found.is_none() {
                self.error(&path, vm, "unknown_reference", format!("placement names VM `{vm}`, which the topology does not define"), "VM names are derived: `supervisor/cp-N`, `NS/CLUSTER/cp-N`, `NS/CLUSTER/POOL-N`, `NS/vm/NAME`".into());
            }
            let host_found = self.reference(host_names, "host", host, &path, vm);
            if let (Some(vm), Some(host)) = (vm_found, host_found) {
                placement.push((VmId::new(vm), HostId::new(host)));
            }
        }
        placement
    }
}
