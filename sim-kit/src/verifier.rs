//! The client-certificate verifier: webpki's chain, validity and clientAuth checks, plus
//! "does it name an organisation?".
//!
//! Checking the CVR inside the TLS verifier (rather than after the handshake) means a
//! certificate without a CVR is refused with a proper TLS alert, exactly like an expired one,
//! and the refusal reason travels in the same error path.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use crate::tls::{TransportError, TrustAnchors};

/// webpki verification followed by [`sim_certs::identify`].
#[derive(Debug)]
pub(crate) struct OrganisationCertVerifier {
    /// webpki: chain to a trust anchor, validity at the current time, clientAuth EKU.
    inner: Arc<dyn ClientCertVerifier>,
}

impl OrganisationCertVerifier {
    pub(crate) fn new(anchors: &TrustAnchors) -> Result<Self, TransportError> {
        let inner =
            WebPkiClientVerifier::builder_with_provider(anchors.store.clone(), crate::provider())
                .build()
                .map_err(|e| TransportError::Verifier(e.to_string()))?;
        Ok(OrganisationCertVerifier { inner })
    }
}

impl ClientCertVerifier for OrganisationCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        sim_certs::identify(end_entity).map_err(|e| {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
        })?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
