//! Access tokens as JWTs in the RFC 9068 profile, signed RS256 by an
//! [`AccessTokenSigner`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{AccessTokenSigner, SigningError};

/// The claims of an access token (RFC 9068 section 2.2), plus `ver`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// Random, so a consumer can tell tokens apart (and refuse a replay).
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    /// The credential version: a verifier can refuse tokens issued before a
    /// password change.
    pub ver: u64,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The compact JWS for `claims`: header `{"alg":"RS256","typ":"at+jwt",
/// "kid":…}` under the signer's current key.
pub async fn sign_access_token(
    signer: &dyn AccessTokenSigner,
    claims: &AccessClaims,
) -> Result<String, SigningError> {
    let kid = signer.key_id().await?;
    let signing_input = format!(
        "{}.{}",
        part(&Header {
            alg: "RS256",
            typ: "at+jwt",
            kid: &kid,
        })?,
        part(claims)?
    );
    let signature = signer.sign(signing_input.as_bytes()).await?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn part(value: &impl serde::Serialize) -> Result<String, SigningError> {
    let json = serde_json::to_vec(value).map_err(SigningError::Encoding)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}
