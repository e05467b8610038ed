"""The running form of each component kind (see ``base`` for the station contract).

The kinds themselves, and which station each runs as, are registered in
:mod:`capplan.kinds`.
"""
