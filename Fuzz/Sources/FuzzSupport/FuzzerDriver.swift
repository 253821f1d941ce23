// The glue every fuzz target shares. SwiftPM links an executable's entry point as
// `<Target>_main`; built with -parse-as-library a target has none, so each defines that symbol
// as a call to `runFuzzer`, which hands libFuzzer's driver (linked in by -sanitize=fuzzer) the
// target's test function.

@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

/// Runs libFuzzer with the process's arguments on `test` (one input's bytes → 0).
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ test: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return llvmFuzzerRunDriver(&count, &arguments, test)
}
