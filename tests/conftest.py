
import pytest

from prunerl.runtime import quiet_tensorflow

quiet_tensorflow()


@pytest.fixture(scope="session")
def keras():
    import keras

    return keras
