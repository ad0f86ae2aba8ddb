import Foundation
import JWTKit

/// The claims of a QuikApp access token.
struct AccessClaims: JWTPayload {
    /// The user id.
    var sub: SubjectClaim
    /// When it stops working: at most ``TokenService/maximumLifetime`` after `iat`.
    var exp: ExpirationClaim
    /// When it was issued.
    var iat: IssuedAtClaim
    /// Always ``TokenService/issuer``.
    var iss: IssuerClaim
    /// The session it belongs to.
    var sid: String?
    /// System roles.
    var roles: [String]

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == TokenService.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unknown issuer")
        }
        guard exp.value.timeIntervalSince(iat.value) <= TokenService.maximumLifetime + 1 else {
            throw JWTError.claimVerificationFailure(failedClaim: exp, reason: "lifetime longer than the host issues")
        }
    }
}
