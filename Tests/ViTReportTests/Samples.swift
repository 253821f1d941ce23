@testable import ViTReport

/// Hand-made measurements and reports for the tests (no process, no timing).
enum Samples {
    static func bench(_ model: String = "m", batch: Int = 1, imagesPerSecond: Double, peakRSS: Int = 100 << 20,
                      arena: Int = 10 << 20, parameters: Int = 2_000_000, macsPerImage: Int = 80_000_000) -> BenchResult {
        BenchResult(model: model, batch: batch, threads: 2, input: "224x224", weights: "placeholder",
                    parameters: parameters, macs: macsPerImage * batch, imagesPerSecond: imagesPerSecond,
                    imagesPerSecondP10: imagesPerSecond * 0.95, imagesPerSecondP90: imagesPerSecond * 1.02,
                    latencyP50Ms: 1000 * Double(batch) / imagesPerSecond, latencyP99Ms: 1100 * Double(batch) / imagesPerSecond,
                    gflops: 2 * Double(macsPerImage) * imagesPerSecond / 1e9, arenaBytes: arena * batch,
                    peakRSSBytes: peakRSS + arena * (batch - 1), coldStartMs: batch == 1 ? 100 : nil,
                    blasKernel: "SkylakeX", isa: "avx512", runs: 30)
    }

    /// A model measured at batch 1 and 2, the second faster.
    static func row(_ name: String, family: String = "efficientvit", taxonomy: String = "hybrid attention-CNN (EfficientViT)", top1: Double, imagesPerSecond: Double,
                    peakRSS: Int, parameters: Int, macsPerImage: Int) -> ModelRow {
        let one = bench(name, imagesPerSecond: imagesPerSecond, peakRSS: peakRSS, parameters: parameters,
                        macsPerImage: macsPerImage)
        let two = bench(name, batch: 2, imagesPerSecond: imagesPerSecond * 1.2, peakRSS: peakRSS,
                        parameters: parameters, macsPerImage: macsPerImage)
        return ModelRow(model: name, family: family, taxonomy: taxonomy, input: "224x224",
                        published: PublishedFigures(top1: top1, paramsMillions: Double(parameters) / 1e6,
                                                    gmacs: Double(macsPerImage) / 1e9, source: "a paper, Table 1"),
                        measurements: [one, two], searchStop: "batch 4 is above the largest allowed, 2")
    }

    static func report(status: Report.Status = .complete, models: [ModelRow]? = nil) -> Report {
        Report(status: status, started: "2026-11-22T10:00:00Z", command: "vit report --models a b",
               machine: .init(cpu: "Test CPU <fast> & \"quoted\"", cores: 2, memoryBytes: 24 << 30, operatingSystem: "Linux"),
               settings: .init(threads: 2, durationSeconds: 3, warmupSeconds: 1, maxBatch: 64, minGain: 0.03,
                               memoryLimitBytes: 12 << 30),
               weightsNote: "Every model ran with placeholder weights.",
               models: models ?? [
                   row("efficientvit_m0", top1: 63.2, imagesPerSecond: 600, peakRSS: 55 << 20, parameters: 2_350_000,
                       macsPerImage: 79_000_000),
                   row("efficientvit_m2", top1: 70.8, imagesPerSecond: 300, peakRSS: 70 << 20, parameters: 4_190_000,
                       macsPerImage: 201_000_000),
                   // Slower and less accurate than m2: on no throughput front.
                   row("slow_model", family: "vit", taxonomy: "baseline (ViT)", top1: 69.0, imagesPerSecond: 250, peakRSS: 60 << 20,
                       parameters: 5_000_000, macsPerImage: 1_260_000_000),
                   row("deit_small", family: "vit", taxonomy: "baseline (ViT)", top1: 79.9, imagesPerSecond: 40, peakRSS: 150 << 20,
                       parameters: 22_000_000, macsPerImage: 4_600_000_000),
               ],
               failures: [.init(model: "broken_model", error: "cannot read 'x.pth': no such file")],
               pending: status == .complete ? [] : ["efficientvit_m5"])
    }
}
