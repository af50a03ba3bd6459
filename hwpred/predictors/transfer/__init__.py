"""Transfer families: predictors for a new device that learn from other devices' complete tables.

``create("transfer_ridge", sources="help-split")`` and the like (see :mod:`.sources` for what
``sources`` may be); :mod:`.selection` chooses which architectures to measure on the new device,
:mod:`.protocol` scores a family on the HELP split and leave-one-device-out.
"""
