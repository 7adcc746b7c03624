"""The README's configuration table names every setting there is."""

from devtools.apigw import ROOT
from reservas.settings import Settings


def test_every_setting_is_documented():
    readme = (ROOT / "README.md").read_text()
    for name, field in Settings.model_fields.items():
        variable = field.validation_alias or f"RESERVAS_{name.upper()}"
        assert f"`{variable}`" in readme, variable
