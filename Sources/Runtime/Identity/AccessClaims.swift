import Foundation
import JWTKit
import QuikMariaDB
import QuikSupport

/// The claims of a QuikApp access token.
package struct AccessClaims: JWTPayload {
    /// The user id.
    package var sub: SubjectClaim
    /// When it stops working: at most ``TokenService/maximumLifetime`` after `iat`.
    package var exp: ExpirationClaim
    /// When it was issued.
    package var iat: IssuedAtClaim
    /// Always ``TokenService/issuer``.
    package var iss: IssuerClaim
    /// The session it belongs to.
    package var sid: String?
    /// System roles.
    package var roles: [String]

    package func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == TokenService.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unknown issuer")
        }
        guard exp.value.timeIntervalSince(iat.value) <= TokenService.maximumLifetime + 1 else {
            throw JWTError.claimVerificationFailure(failedClaim: exp, reason: "lifetime longer than the host issues")
        }
    }
}
