//! Reading PEM text back into DER (certificates we wrote earlier, or a vendor's CA file).

use x509_parser::pem::Pem;

/// Every `CERTIFICATE` block in `text`, in order, as DER. Other blocks are skipped; a text
/// with broken PEM yields the blocks before the break.
pub fn certificates(text: &str) -> Vec<Vec<u8>> {
    Pem::iter_from_buffer(text.as_bytes())
        .map_while(Result::ok)
        .filter(|pem| pem.label == "CERTIFICATE")
        .map(|pem| pem.contents)
        .collect()
}

/// The first `CERTIFICATE` block in `text`, as DER.
pub fn first_certificate(text: &str) -> Option<Vec<u8>> {
    certificates(text).into_iter().next()
}
