# Fixtures shared by every test folder: real emulator processes (see huaweicloud_emulator.pytest_plugin).
pytest_plugins = ["huaweicloud_emulator.pytest_plugin"]
