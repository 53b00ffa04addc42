//! The node's network on the machine: the interface with the node's
//! address, the two sysctls a node needs, and the record of the packet
//! filter as it was, so that `down` can put everything back and check it.

use std::os::unix::ffi::OsStringExt;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::layout::{Layout, NODE_CLAIM, NODE_INTERFACE, NODE_IP, POD_BRIDGE, SERVICE_SUBNET};

/// Sysctls a node needs, with the value `up` sets: bridged pod traffic
/// through iptables (kube-proxy's Service rules for pod-to-Service traffic)
/// and forwarding between the bridge and the node's address.
const SYSCTLS: &[(&str, &str)] = &[("net/bridge/bridge-nf-call-iptables", "1"), ("net/ipv4/ip_forward", "1")];

/// The tables of iptables that kube-proxy writes to.
const RULESETS: &[&str] = &["iptables-save", "ip6tables-save"];

pub fn up(layout: &Layout) -> Result<()> {
    for interface in [NODE_INTERFACE, POD_BRIDGE] {
        if interface_exists(interface) {
            bail!("the interface {interface} exists already: a node is up, or one was not taken down (`scripts/cluster.sh down`)");
        }
    }
    if ip(&["-4", "route", "get", &NODE_IP.to_string()]).is_ok_and(|route| !route.contains(" via ") && route.contains("local")) {
        bail!("{NODE_IP} is an address of this machine already");
    }
    std::fs::create_dir_all(layout.saved(""))?;
    for (name, value) in SYSCTLS {
        let path = format!("/proc/sys/{name}");
        let old =
            std::fs::read_to_string(&path).with_context(|| format!("reading {path}: the kernel needs bridge netfilter (br_netfilter)"))?;
        std::fs::write(layout.saved(&name.replace('/', ".")), old.trim())?;
        std::fs::write(&path, value).with_context(|| format!("setting {path}"))?;
    }
    for program in RULESETS {
        std::fs::write(layout.saved(program), ruleset(program)?)?;
    }
    // A bridge with no ports: this kernel has no dummy interfaces, and an
    // address on a port-less bridge serves local traffic just the same.
    // Claimed before the interface exists, so that no interface is ever
    // without a record of whose it is.
    std::fs::write(NODE_CLAIM, layout.root.as_os_str().as_encoded_bytes())?;
    ip(&["link", "add", NODE_INTERFACE, "type", "bridge"])?;
    ip(&["addr", "add", &format!("{NODE_IP}/32"), "dev", NODE_INTERFACE])?;
    ip(&["link", "set", NODE_INTERFACE, "up"])?;
    // The Service range onto the node's port-less bridge: a ClusterIP that
    // kube-proxy has no rule for yet (a Service just created, or between
    // its rule updates) would otherwise follow the default route off the
    // machine, and be answered by whatever is out there. kube-proxy's DNAT
    // reroutes the packets it translates; the rest go nowhere. (Seen: a
    // 404 from the machine's gateway for a ClusterIP the moment its first
    // endpoint appeared.) The route goes with the interface at `down`.
    ip(&["route", "add", SERVICE_SUBNET, "dev", NODE_INTERFACE])?;
    Ok(())
}

/// Removes the interfaces and puts the sysctls back; returns what it could
/// not undo.
pub fn down(layout: &Layout) -> Vec<String> {
    let mut left = Vec::new();
    // Nothing of the network was set up: the interfaces, if any, are not ours.
    if !layout.saved("net.ipv4.ip_forward").exists() {
        return left;
    }
    for interface in [POD_BRIDGE, NODE_INTERFACE] {
        if interface_exists(interface) && ip(&["link", "del", interface]).is_err() {
            left.push(format!("the interface {interface}"));
        }
    }
    if left.is_empty() && claimant().is_some_and(|root| root == layout.root) {
        let _ = std::fs::remove_file(NODE_CLAIM);
    }
    for (name, _) in SYSCTLS {
        if let Ok(old) = std::fs::read_to_string(layout.saved(&name.replace('/', ".")))
            && std::fs::write(format!("/proc/sys/{name}"), old.trim()).is_err()
        {
            left.push(format!("the sysctl {name} (was {})", old.trim()));
        }
    }
    left
}

/// The folder of the node that holds the interfaces, as `up` recorded it.
pub fn claimant() -> Option<std::path::PathBuf> {
    let claim = std::fs::read(NODE_CLAIM).ok()?;
    Some(std::path::PathBuf::from(std::ffi::OsString::from_vec(claim)))
}

/// Whether the node's interfaces are on the machine.
pub fn interfaces_exist() -> bool {
    [NODE_INTERFACE, POD_BRIDGE].into_iter().any(interface_exists)
}

/// Removes the chains the kubelet and kube-proxy made (`KUBE-*`) and the
/// rules that jump to them. `kube-proxy --cleanup` removes its own; the
/// kubelet's (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) stay
/// unless removed here.
pub fn remove_kube_chains() {
    for program in RULESETS {
        let Ok(rules) = ruleset(program) else {
            continue;
        };
        let iptables = program.trim_end_matches("-save");
        let mut table = "";
        let mut chains = Vec::new();
        for line in rules.lines() {
            if let Some(name) = line.strip_prefix('*') {
                table = name;
            } else if let Some(chain) = line.strip_prefix(':').and_then(|rest| rest.split(' ').next()) {
                if chain.starts_with("KUBE-") {
                    chains.push((table.to_owned(), chain.to_owned()));
                }
            } else if let Some(rule) = line.strip_prefix("-A ") {
                // A rule of a chain that stays, jumping to one that goes.
                if !rule.starts_with("KUBE-") && rule.contains(" -j KUBE-") {
                    let mut command = Command::new(iptables);
                    command.args(["-t", table, "-D"]).args(split_rule(rule));
                    let _ = command.output();
                }
            }
        }
        for (table, chain) in &chains {
            let _ = Command::new(iptables).args(["-t", table, "-F", chain]).output();
        }
        for (table, chain) in &chains {
            let _ = Command::new(iptables).args(["-t", table, "-X", chain]).output();
        }
    }
}

/// iptables-save's words of a rule, with its quoted comments kept whole.
fn split_rule(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for character in rule.chars() {
        match character {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(character),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The rules and chains now present that were not there before `up`. The
/// tables themselves and the built-in chains' policies are not compared:
/// an empty table that a rule's removal leaves behind filters nothing.
pub fn rules_added_since_up(layout: &Layout) -> Vec<String> {
    let mut added = Vec::new();
    for program in RULESETS {
        let Ok(before) = std::fs::read_to_string(layout.saved(program)) else {
            continue;
        };
        let Ok(now) = ruleset(program) else { continue };
        let before: Vec<&str> = before.lines().collect();
        let is_rule_or_chain =
            |line: &&str| line.starts_with("-A ") || (line.starts_with(':') && !line.ends_with(" ACCEPT") && !line.ends_with(" DROP"));
        added.extend(now.lines().filter(is_rule_or_chain).filter(|line| !before.contains(line)).map(|line| format!("{program}: {line}")));
    }
    added
}

/// The rule set without comments and counters, which change by themselves.
fn ruleset(program: &str) -> Result<String> {
    let output = Command::new(program).output().with_context(|| format!("running {program} (Debian package iptables)"))?;
    if !output.status.success() {
        bail!("{program} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| if line.starts_with(':') { line.split(" [").next().unwrap() } else { line })
        .collect::<Vec<_>>()
        .join("\n"))
}

pub fn interface_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

fn ip(args: &[&str]) -> Result<String> {
    let output = Command::new("ip").args(args).output().context("running ip (Debian package iproute2)")?;
    if !output.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
