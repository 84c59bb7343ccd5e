//! The `X-Registry-Auth` header of push and pull: base64url of JSON
//! `{"username", "password", "serveraddress", ...}` (padded or not; some
//! clients send standard base64). Only the user name and password are
//! taken; an empty or `{}` header means none.
use base64::Engine as _;

/// (username, password), or None when the header carries no credentials.
pub fn decode(header: &str) -> Result<Option<(String, String)>, String> {
    let h = header.trim();
    if h.is_empty() {
        return Ok(None);
    }
    let e = base64::engine::general_purpose::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    let url = base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, e);
    let std = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, e);
    let raw = url.decode(h).or_else(|_| std.decode(h)).map_err(|e| format!("X-Registry-Auth: {e}"))?;
    #[derive(serde::Deserialize)]
    struct Auth {
        #[serde(default)]
        username: String,
        #[serde(default)]
        password: String,
    }
    let a: Auth = serde_json::from_slice(&raw).map_err(|e| format!("X-Registry-Auth: {e}"))?;
    if a.username.is_empty() {
        return Ok(None);
    }
    Ok(Some((a.username, a.password)))
}

#[cfg(test)]
mod tests {
    use super::decode;
    use base64::Engine as _;
    #[test]
    fn headers_of_the_clients() {
        let j = r#"{"username":"u","password":"p?>","serveraddress":"127.0.0.1:5000"}"#;
        let url = base64::engine::general_purpose::URL_SAFE.encode(j);
        let std = base64::engine::general_purpose::STANDARD_NO_PAD.encode(j);
        assert_eq!(decode(&url).unwrap(), Some(("u".into(), "p?>".into())));
        assert_eq!(decode(&std).unwrap(), Some(("u".into(), "p?>".into())));
        assert_eq!(decode("").unwrap(), None);
        assert_eq!(decode(&base64::engine::general_purpose::URL_SAFE.encode("{}")).unwrap(), None);
        assert!(decode("!!!").is_err());
    }
}
