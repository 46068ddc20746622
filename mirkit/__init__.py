"""mirkit: deep learning for music information retrieval, from scratch, in numpy.

The reference implementation of everything the course teaches. Later lessons import it, so a
student who got an earlier exercise wrong can still go on.

Modules: ``signal`` (lesson 00), ``nn`` (lessons 01-05), ``features`` (lesson 06),
``augment`` (lesson 08), ``datasets`` (the GTZAN-style data), ``challenge`` (lesson 10),
``widgets`` (sliders that also run headless, all lessons).
"""
__version__ = "0.1.0"
