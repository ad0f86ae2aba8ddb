// swift-tools-version:6.0
import PackageDescription

// A third-party QuikApp plugin. It depends on the SDK only, by path here;
// in your own repository point the path (or a URL) at the QuikApp SDK you target.
let package = Package(
    name: "Greeter",
    products: [
        // The product name becomes the library name: libgreeter.so.
        .library(name: "greeter", type: .dynamic, targets: ["Greeter"])
    ],
    dependencies: [
        .package(path: "../../SDK")
    ],
    targets: [
        .target(name: "Greeter", dependencies: [.product(name: "QuikSDK", package: "SDK")])
    ]
)
