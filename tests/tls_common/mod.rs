//! Certificates made on the spot with rcgen for the TLS tests, the TLS bench
//! and `examples/tls_test_certs.rs`: a test CA, server certificates signed by
//! it (good for 127.0.0.1 and localhost, expired, for another name), one from
//! another CA, and a client certificate. Nothing is read from disk or the
//! network; every run makes fresh keys.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key, as DER (for configs) and PEM (for files).
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    /// The chain a server presents: the leaf alone (the CA is the root).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert.clone()]
    }

    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// A certificate authority that signs leaves.
pub struct Ca {
    pub cert: CertificateDer<'static>,
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (IP addresses or DNS names), valid
    /// from `from` to `until` (years).
    pub fn server(&self, names: &[&str], from: i32, until: i32) -> Leaf {
        self.leaf(names, from, until, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate.
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], 2020, 4000, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, names: &[&str], from: i32, until: i32, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// Everything the TLS tests need, made once per test.
pub struct Pki {
    pub ca: Ca,
    /// For 127.0.0.1 and localhost, valid 2020-4000.
    pub good: Leaf,
    /// For 127.0.0.1 and localhost, valid 2000-2001.
    pub expired: Leaf,
    /// For other.example only.
    pub other_name: Leaf,
    /// For 127.0.0.1 and localhost, signed by a CA nobody trusts.
    pub untrusted: Leaf,
}

impl Pki {
    pub fn new() -> Self {
        let ca = Ca::new("wsmachine test CA");
        let names = ["127.0.0.1", "localhost"];
        Self {
            good: ca.server(&names, 2020, 4000),
            expired: ca.server(&names, 2000, 2001),
            other_name: ca.server(&["other.example"], 2020, 4000),
            untrusted: Ca::new("someone else's CA").server(&names, 2020, 4000),
            ca,
        }
    }
}
