"""Masked-diffusion decoding: engine, denoisers (oracle, neural) and difficulty calibration."""
