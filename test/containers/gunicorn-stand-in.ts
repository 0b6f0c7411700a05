/**
 * Stand-in for gunicorn (not installable here): a Python script for PATH that parses the flags the api image's entry
 * script passes, records them in $STANDIN_ARGV_FILE, puts the working directory and --pythonpath first on sys.path as
 * gunicorn does, and serves the `module:attr` target with wsgiref instead of a gevent worker.
 */
export const GUNICORN_STAND_IN = `#!/usr/bin/env python3
# Stand-in for gunicorn: same flags as Dify's entrypoint, wsgiref instead of a gevent worker.
import importlib, json, os, sys
from wsgiref.simple_server import make_server, WSGIRequestHandler
args = sys.argv[1:]
options, target = {}, args[-1]
i = 0
while i < len(args) - 1:
    options[args[i]] = args[i + 1]
    i += 2
with open(os.environ['STANDIN_ARGV_FILE'], 'w') as out:
    json.dump(sys.argv[1:], out)
sys.path.insert(0, options['--pythonpath'])
sys.path.insert(0, os.getcwd())
module_name, attribute = target.split(':')
app = getattr(importlib.import_module(module_name), attribute)
host, port = options['--bind'].rsplit(':', 1)
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server(host, int(port), app, handler_class=Quiet).serve_forever()
`;
