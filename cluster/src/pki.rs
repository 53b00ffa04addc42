//! The cluster's certificates and keys, made fresh at every `up`: what
//! kubeadm makes for a control-plane node, with the same subjects, since
//! the API server's RBAC keys on them (`system:kube-controller-manager`,
//! `system:node:NAME` in `system:nodes`, ...).
//!
//! - the cluster CA, which signs every serving and client certificate;
//! - a front-proxy CA and its client certificate, which the API server
//!   presents to aggregated API servers such as KEDA's metrics server, and
//!   which they check against `extension-apiserver-authentication`;
//! - the service-account key pair: the API server signs tokens with the
//!   private key, and the controller manager uses it for its controllers'
//!   own tokens (`--use-service-account-credentials`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};

use crate::layout::{CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME};

/// The directory the files are written to, named as kubeadm names them.
pub struct Pki {
    pub dir: PathBuf,
}

/// Whom a certificate is for.
enum Usage {
    Server,
    Client,
}

impl Pki {
    pub fn generate(dir: &Path) -> Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let pki = Pki { dir: dir.to_owned() };
        let node_ip = IpAddr::V4(NODE_IP);

        let ca = pki.authority("ca", "kubernetes")?;
        let api_server_names = [
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
            format!("kubernetes.default.svc.{CLUSTER_DOMAIN}"),
            KUBERNETES_SERVICE_IP.to_string(),
            node_ip.to_string(),
        ];
        pki.leaf(&ca, "apiserver", "kube-apiserver", None, &api_server_names, Usage::Server)?;
        // The API server's identity towards kubelets (logs, exec, metrics).
        pki.leaf(&ca, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", Some("system:masters"), &[], Usage::Client)?;
        pki.leaf(&ca, "admin", "kubernetes-admin", Some("system:masters"), &[], Usage::Client)?;
        pki.leaf(&ca, "controller-manager", "system:kube-controller-manager", None, &[], Usage::Client)?;
        pki.leaf(&ca, "scheduler", "system:kube-scheduler", None, &[], Usage::Client)?;
        pki.leaf(&ca, "kube-proxy", "system:kube-proxy", None, &[], Usage::Client)?;
        let node_user = format!("system:node:{NODE_NAME}");
        pki.leaf(&ca, "kubelet-client", &node_user, Some("system:nodes"), &[], Usage::Client)?;
        // The kubelet's own serving certificate, signed by the cluster CA so
        // that the API server can verify it (--kubelet-certificate-authority).
        pki.leaf(&ca, "kubelet", NODE_NAME, None, &[NODE_NAME.to_owned(), node_ip.to_string()], Usage::Server)?;

        let front_proxy = pki.authority("front-proxy-ca", "front-proxy-ca")?;
        pki.leaf(&front_proxy, "front-proxy-client", "front-proxy-client", None, &[], Usage::Client)?;

        let service_accounts = KeyPair::generate().context("generating the service-account key")?;
        pki.write("sa.key", &service_accounts.serialize_pem())?;
        pki.write("sa.pub", &service_accounts.public_key_pem())?;
        Ok(pki)
    }

    /// `NAME.crt` or `NAME.key` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn authority(&self, name: &str, common_name: &str) -> Result<CertifiedIssuer<'static, KeyPair>> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial());
        self.write(&format!("{name}.key"), &key.serialize_pem())?;
        let authority = CertifiedIssuer::self_signed(params, key).with_context(|| format!("signing {name}"))?;
        self.write(&format!("{name}.crt"), &authority.pem())?;
        Ok(authority)
    }

    fn leaf(
        &self,
        issuer: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        common_name: &str,
        organization: Option<&str>,
        alternative_names: &[String],
        usage: Usage,
    ) -> Result<()> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(alternative_names.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        if let Some(organization) = organization {
            params.distinguished_name.push(DnType::OrganizationName, organization);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        let certificate = params.signed_by(&key, issuer).with_context(|| format!("signing {name}"))?;
        self.write(&format!("{name}.key"), &key.serialize_pem())?;
        self.write(&format!("{name}.crt"), &certificate.pem())
    }

    fn write(&self, name: &str, contents: &str) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        std::io::Write::write_all(&mut file, contents.as_bytes())?;
        Ok(())
    }
}

/// 16 random bytes from the kernel: certificates of one issuer need
/// distinct serial numbers, and every `up` makes new ones.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut bytes).unwrap();
    bytes[0] &= 0x7f; // positive, as DER integers must be
    SerialNumber::from_slice(&bytes)
}
