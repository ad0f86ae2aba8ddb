// swift-tools-version:6.0
import PackageDescription

// The SDK is its own package so that host and plugins share one `libQuikSDK.so`
// (a dynamic product of the package that builds them would be linked in
// statically, twice). Library evolution keeps plugins built against an older
// SDK running against a newer one.
let package = Package(
    name: "QuikSDK",
    products: [
        .library(name: "QuikSDK", type: .dynamic, targets: ["QuikSDK"])
    ],
    targets: [
        .target(name: "CQuikABI"),
        .target(
            name: "QuikSDK",
            dependencies: ["CQuikABI"],
            swiftSettings: [
                .unsafeFlags(["-enable-library-evolution", "-no-verify-emitted-module-interface"])
            ]
        ),
    ]
)
