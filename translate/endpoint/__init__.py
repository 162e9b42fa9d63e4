"""A LibreTranslate-compatible HTTP endpoint in front of an exported translator.

Localisation platforms (Weblate's LibreTranslate machinery, small clients
such as `libretranslatepy`) speak LibreTranslate's API: `GET /languages`
and `POST /translate`. `translate serve` answers it with an export of
`translate export`, loaded in process (`translate.exported.ExportedModel`) or
served by TF Serving (`translate.serving`'s clients):

- `app`: the routes, request checks and errors (`create_app`);
- `limits`: what a request may ask, how requests are batched (`Limits`);
- `batcher`: the texts of concurrent requests in one model call, in a
  worker thread (`MicroBatcher`);
- `languages`: the model's pair in LibreTranslate's form (`LanguagePair`);
- `server`: uvicorn on a bound socket (`bind`, `run`).

```python
from translate.endpoint import server
from translate.endpoint.app import create_app
from translate.endpoint.languages import LanguagePair
from translate.exported import ExportedModel

app = create_app(ExportedModel("runs/export/translator"), LanguagePair("en", "de"))
server.run(app, server.bind("127.0.0.1", 5000))
```

The package imports nothing itself: the command line reads `limits`
without loading the web framework.
"""
