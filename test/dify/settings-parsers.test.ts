import {
  envconfigReads,
  goGetenvReads,
  nameListReads,
  pydanticSettingsReads,
  pythonClasses,
  pythonEnvReads,
  shellEnvReads,
} from '../../scripts/dify-settings/parsers';

const names = (reads: ReadonlyArray<{ name: string }>): string[] => reads.map((read) => read.name).sort();

describe('pydantic-settings reader', () => {
  const source = [
    'from pydantic import AliasChoices, Field, computed_field',
    'from pydantic_settings import BaseSettings',
    '',
    'class Cache(BaseSettings):',
    '    """Docstring with a line that looks like a field:',
    '    HOST: not a field',
    '    """',
    '',
    '    HOST: str = Field(description="host, see https://example.com", default="localhost")',
    '    PORT: int = 6379  # a comment: NOT_A_FIELD: int',
    '    URL: str | None = Field(',
    '        validation_alias=AliasChoices("BUS_URL", "URL"),',
    '        default=None,',
    '    )',
    '    inner_LIST: str = Field(validation_alias=AliasChoices("LIST"), default="")',
    '    TOKEN: str = Field(alias="LEGACY_TOKEN", default="")',
    '    _private: int = 0',
    '',
    '    @computed_field',
    '    @property',
    '    def LIST_ITEMS(self) -> list[str]:',
    '        inner: int = 1',
    '        return self.inner_LIST.split(",")',
    '',
    'class Unused(BaseSettings):',
    '    NEVER_MIXED_IN: str = ""',
    '',
    'class App(',
    '    # mixins',
    '    Cache,',
    '):',
    '    model_config = SettingsConfigDict(env_file=".env", extra="ignore")',
  ].join('\n');

  test('reads fields of the root and its mixins under their aliases, skipping computed and private names', () => {
    const result = pydanticSettingsReads(pythonClasses(source, 'configs.py'), 'App');
    expect(names(result.reads)).toEqual(['BUS_URL', 'HOST', 'LEGACY_TOKEN', 'LIST', 'PORT', 'URL']);
    expect(result.caseSensitive).toBe(false);
  });

  test('refuses what it does not model: env_prefix, AliasPath, duplicate class names', () => {
    const prefixed =
      'class A(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix="DIFY_")\n    X: int = 1\n';
    expect(() => pydanticSettingsReads(pythonClasses(prefixed, 'a.py'), 'A')).toThrow(/env_prefix/);
    const path = 'class A(BaseSettings):\n    X: int = Field(validation_alias=AliasPath("a", 0))\n';
    expect(() => pydanticSettingsReads(pythonClasses(path, 'a.py'), 'A')).toThrow(/alias/);
    const twice = [
      ...pythonClasses('class A:\n    X: int\n', 'a.py'),
      ...pythonClasses('class A:\n    Y: int\n', 'b.py'),
    ];
    expect(() => pydanticSettingsReads(twice, 'A')).toThrow(/a\.py and b\.py/);
  });

  test('honours case_sensitive', () => {
    const sensitive =
      'class A(BaseSettings):\n    model_config = SettingsConfigDict(case_sensitive=True)\n    X: int\n';
    expect(pydanticSettingsReads(pythonClasses(sensitive, 'a.py'), 'A').caseSensitive).toBe(true);
  });
});

test('direct Python environment reads', () => {
  const source =
    'a = os.environ.get("A", "1")\nb = os.getenv(\'B\')\nc = os.environ["C"]\nif "D" in os.environ: pass\n';
  expect(names(pythonEnvReads(source, 'x.py'))).toEqual(['A', 'B', 'C', 'D']);
});

test('shell reads: references before the script assigns the name, not comments or single quotes', () => {
  const source = [
    '# ${IN_COMMENT}',
    'export LANG=${LANG:-C.UTF-8}',
    'if [ "${FLAG,,}" = "true" ]; then',
    '  COUNT=$(nproc)',
    '  OPTION="--n=${MAX:-$COUNT}"',
    'fi',
    'echo \'$QUOTED\' "$OPTION" ${POOL:-${FALLBACK:-x}} $# $@',
  ].join('\n');
  expect(names(shellEnvReads(source, 'entrypoint.sh'))).toEqual(['FALLBACK', 'FLAG', 'LANG', 'MAX', 'POOL']);
});

test('envconfig tags, and a loud failure on an untagged field', () => {
  const tagged = [
    'type Config struct {',
    '\t// comment line',
    '\tServerPort uint16 `envconfig:"SERVER_PORT" validate:"required"`',
    '\tURL        string `envconfig:"BASE_URL" default:"http://localhost"` // trailing',
    '\tSkipped    string `envconfig:"-"`',
    '\tinternal   int',
    '}',
    'type Other struct {',
    '\tX string `envconfig:"OTHER"`',
    '}',
  ].join('\n');
  expect(names(envconfigReads(tagged, 'config.go', 'Config'))).toEqual(['BASE_URL', 'SERVER_PORT']);
  expect(() => envconfigReads('type Config struct {\n\tHost string\n}\n', 'c.go', 'Config')).toThrow(/no envconfig/);
  expect(names(goGetenvReads('x := os.Getenv("X")\n_, ok := os.LookupEnv("Y")\n', 'c.go'))).toEqual(['X', 'Y']);
});

test('name lists skip comments and refuse anything that is not a name', () => {
  expect(names(nameListReads('# header\nA_1\n\nB\n', 'list.txt'))).toEqual(['A_1', 'B']);
  expect(() => nameListReads('A B\n', 'list.txt')).toThrow(/list\.txt:1/);
});
