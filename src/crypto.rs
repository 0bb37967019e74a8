//! Encryption at rest of Plaid access tokens: AES-256-GCM with a random nonce per token.
//!
//! Stored form: `v1:` + base64url(nonce || ciphertext || tag). The item's Plaid id is the
//! associated data, so a ciphertext copied onto another item's row does not decrypt.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::plaid::types::AccessToken;

const VERSION: &str = "v1:";

/// The SHA-256 of `text`, in lowercase hex: how API tokens are stored and persisted
/// documents are named.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("INVESTMENTS_ENCRYPTION_KEY must be 32 bytes written as 64 hex characters")]
    BadKey,
    #[error("a stored access token could not be decrypted (wrong INVESTMENTS_ENCRYPTION_KEY?)")]
    Undecryptable,
}

/// Encrypts and decrypts access tokens with the server's key.
pub struct TokenCipher {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(<key redacted>)")
    }
}

impl TokenCipher {
    /// From the 64 hex characters of `INVESTMENTS_ENCRYPTION_KEY`.
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(TokenCipher { key })
    }

    /// A cipher with a random key, for the demo (its database starts empty every run).
    pub fn ephemeral() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_hex(&hex::encode(bytes)).expect("32 random bytes make a key")
    }

    pub fn encrypt(&self, token: &AccessToken, plaid_item_id: &str) -> String {
        let mut in_out = token.expose().as_bytes().to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(plaid_item_id.as_bytes()), &mut in_out)
            .expect("AES-GCM sealing does not fail for short inputs");
        let mut stored = nonce.as_ref().to_vec();
        stored.extend_from_slice(&in_out);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(stored))
    }

    pub fn decrypt(&self, stored: &str, plaid_item_id: &str) -> Result<AccessToken, CryptoError> {
        let encoded = stored
            .strip_prefix(VERSION)
            .ok_or(CryptoError::Undecryptable)?;
        let mut bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Undecryptable);
        }
        let mut in_out = bytes.split_off(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(&bytes).map_err(|_| CryptoError::Undecryptable)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(plaid_item_id.as_bytes()), &mut in_out)
            .map_err(|_| CryptoError::Undecryptable)?;
        let text = std::str::from_utf8(plain).map_err(|_| CryptoError::Undecryptable)?;
        Ok(AccessToken::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bound_to_the_item() {
        let cipher = TokenCipher::from_hex(&"ab".repeat(32)).unwrap();
        let token = AccessToken::new("access-sandbox-5cd6e1b1-1b5b-459d-9284-366e2da89755");
        let stored = cipher.encrypt(&token, "item-1");
        assert!(!stored.contains("access-sandbox"));
        assert_ne!(stored, cipher.encrypt(&token, "item-1"), "random nonce");
        assert_eq!(cipher.decrypt(&stored, "item-1").unwrap(), token);
        assert!(cipher.decrypt(&stored, "item-2").is_err());
        let other = TokenCipher::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.decrypt(&stored, "item-1").is_err());
    }

    #[test]
    fn keys_must_be_64_hex_characters() {
        assert!(TokenCipher::from_hex("abcd").is_err());
        assert!(TokenCipher::from_hex(&"zz".repeat(32)).is_err());
        assert!(TokenCipher::from_hex(&"00".repeat(32)).is_ok());
    }
}
