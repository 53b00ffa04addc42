//! A pod's securityContext, and the check that a running process is held
//! to it, read from the kernel's own view (`/proc/PID/task/*/status`), not
//! from the spec anyone handed the runtime. The shim tests run tasks with
//! `ctr run` flags made from it; the test node lets the kubelet apply it.

use serde_json::Value;

/// The fields of the pod's and its container's securityContext that the
/// runtime applies to the process (docs/security.md).
#[derive(Clone, Debug)]
pub struct SecurityContext {
    pub run_as: Option<(u64, u64)>,
    pub read_only_root: bool,
    pub runtime_default_seccomp: bool,
    pub drop_all_capabilities: bool,
    /// `capabilities.add`, as containerd names them (`CAP_NET_BIND_SERVICE`).
    pub added_capabilities: Vec<String>,
    pub no_privilege_escalation: bool,
}

impl SecurityContext {
    /// From a pod spec and one of its containers, the container's fields
    /// taking precedence as Kubernetes has it.
    pub fn read(pod: &Value, container: &Value) -> SecurityContext {
        let (pod, container) = (&pod["securityContext"], &container["securityContext"]);
        let effective = |field: &str| if container[field].is_null() { &pod[field] } else { &container[field] };
        let run_as = effective("runAsUser").as_u64().map(|user| (user, effective("runAsGroup").as_u64().unwrap_or(user)));
        SecurityContext {
            run_as,
            read_only_root: container["readOnlyRootFilesystem"] == true,
            runtime_default_seccomp: effective("seccompProfile")["type"] == "RuntimeDefault",
            drop_all_capabilities: container["capabilities"]["drop"].as_array().is_some_and(|drop| drop.iter().any(|cap| cap == "ALL")),
            added_capabilities: container["capabilities"]["add"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|cap| format!("CAP_{}", cap.as_str().unwrap_or_else(|| panic!("capability {cap} is not a string"))))
                .collect(),
            no_privilege_escalation: container["allowPrivilegeEscalation"] == false,
        }
    }
}

/// The capabilities containerd grants a container by default, all of which
/// `drop: [ALL]` removes; `ctr run --cap-drop` takes them one by one.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

impl SecurityContext {
    /// The `ctr run` flags that set the same fields of the OCI spec as this
    /// securityContext, which the kubelet would hand containerd (the test
    /// node shows the kubelet's own: cluster/tests/node.rs). containerd
    /// 1.6's `ctr` cannot set the user.
    pub fn ctr_flags(&self, containerd_version: &str) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some((user, group)) = self.run_as
            && !containerd_version.starts_with("1.6")
        {
            flags.push(format!("--user={user}:{group}"));
        }
        if self.read_only_root {
            flags.push("--read-only".into());
        }
        if self.runtime_default_seccomp {
            flags.push("--seccomp".into());
        }
        if self.drop_all_capabilities {
            let dropped = DEFAULT_CAPABILITIES.iter().filter(|cap| !self.added_capabilities.iter().any(|added| added == *cap));
            flags.extend(dropped.map(|cap| format!("--cap-drop={cap}")));
        }
        flags.extend(self.added_capabilities.iter().map(|cap| format!("--cap-add={cap}")));
        // NoNewPrivileges is ctr's default; only its absence needs a flag.
        if !self.no_privilege_escalation {
            flags.push("--allow-new-privs".into());
        }
        flags
    }
}

/// The bits of `capabilities` in /proc/PID/status's capability masks.
pub fn capability_mask(capabilities: &[String]) -> u64 {
    // Their numbers in linux/capability.h.
    let number = |cap: &str| match cap {
        "CAP_CHOWN" => 0,
        "CAP_DAC_OVERRIDE" => 1,
        "CAP_FOWNER" => 3,
        "CAP_FSETID" => 4,
        "CAP_KILL" => 5,
        "CAP_SETGID" => 6,
        "CAP_SETUID" => 7,
        "CAP_SETPCAP" => 8,
        "CAP_NET_BIND_SERVICE" => 10,
        "CAP_NET_RAW" => 13,
        "CAP_SYS_CHROOT" => 18,
        "CAP_MKNOD" => 27,
        "CAP_AUDIT_WRITE" => 29,
        "CAP_SETFCAP" => 31,
        other => panic!("no number for {other}"),
    };
    capabilities.iter().fold(0, |mask, cap| mask | 1 << number(cap))
}

/// The value of the field `name` (`CapEff`, `PPid`, ...) in the text of a
/// `/proc/PID/status` file, without its padding.
pub fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

/// Checks every thread of the process `init` (the shim runs Spin in the
/// container's init process, on its threads) against `security`; the user
/// only when `check_user` (`ctr` 1.6 cannot set it). Returns the first
/// difference.
pub fn check_process(init: u32, security: &SecurityContext, check_user: bool) -> Result<(), String> {
    let threads: Vec<u32> = std::fs::read_dir(format!("/proc/{init}/task"))
        .map_err(|error| format!("process {init}: {error}"))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for pid in threads {
        let status = std::fs::read_to_string(format!("/proc/{init}/task/{pid}/status")).map_err(|error| error.to_string())?;
        let field = |name: &str| {
            status_field(&status, name)
                .map(|value| value.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
        };
        let expect = |name: &str, wanted: &str, what: &str| -> Result<(), String> {
            let found = field(name)?;
            if found.iter().all(|value| value == wanted) {
                Ok(())
            } else {
                Err(format!("process {init} thread {pid}: {name} is {found:?}, not {wanted} ({what})"))
            }
        };
        if let Some((user, group)) = security.run_as
            && check_user
        {
            expect("Uid", &user.to_string(), "runAsUser")?;
            expect("Gid", &group.to_string(), "runAsGroup")?;
        }
        if security.drop_all_capabilities {
            let wanted = format!("{:016x}", capability_mask(&security.added_capabilities));
            for set in ["CapPrm", "CapEff", "CapBnd"] {
                expect(set, &wanted, &format!("drop ALL, add {:?}", security.added_capabilities))?;
            }
        }
        if security.no_privilege_escalation {
            expect("NoNewPrivs", "1", "allowPrivilegeEscalation: false")?;
        }
        if security.runtime_default_seccomp {
            expect("Seccomp", "2", "seccompProfile RuntimeDefault")?;
        }
    }
    Ok(())
}
