"""Latency and throughput figures shared by the benchmarks."""

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, name: str, latencies: list[float], seconds: float) -> "Figures":
        ordered = sorted(latencies)
        p99_index = max(0, int(len(ordered) * 0.99) - 1)
        return cls(
            name=name,
            requests=len(ordered),
            seconds=seconds,
            p50_ms=statistics.median(ordered) * 1000,
            p99_ms=ordered[p99_index] * 1000,
        )

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.requests:>6} req  {self.per_second:>8.1f} req/s"
            f"  p50 {self.p50_ms:>8.2f} ms  p99 {self.p99_ms:>8.2f} ms"
        )
