//! Signing webhooks the way Plaid does: an ES256 JWT in `Plaid-Verification` whose header
//! names the key (`kid`) and whose claims are `iat` and the SHA-256 of the exact body.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::plaid::types::WebhookVerificationKey;

pub struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: WebhookVerificationKey,
}

impl Signer {
    /// A fresh P-256 key pair.
    pub fn generate(kid: String, created_at: i64) -> Signer {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("P-256 key generation");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("generated key parses");
        // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
        let point = pair.public_key().as_ref();
        let jwk = WebhookVerificationKey {
            alg: "ES256".to_owned(),
            crv: "P-256".to_owned(),
            kid: kid.clone(),
            kty: "EC".to_owned(),
            key_use: "sig".to_owned(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            created_at,
            expired_at: None,
        };
        Signer {
            kid,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &WebhookVerificationKey {
        &self.jwk
    }

    pub fn expire(&mut self, at: i64) {
        self.jwk.expired_at = Some(at);
    }

    /// The `Plaid-Verification` value for `body`, issued at `iat` (unix seconds).
    pub fn sign(&self, body: &[u8], iat: i64) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        let claims = json!({
            "iat": iat,
            "request_body_sha256": hex::encode(Sha256::digest(body)),
        });
        jsonwebtoken::encode(&header, &claims, &self.key).expect("ES256 signing")
    }
}
