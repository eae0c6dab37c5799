"""imcflow: co-design toolchain for charge-domain analog in-memory computing (sky130)."""

__version__ = "0.1.0"
