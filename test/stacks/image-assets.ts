import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRecord } from './template-helpers';

export interface DockerImageAssetSource {
  readonly directory?: string;
  readonly buildArgs: Record<string, string>;
}

/** Docker image assets of a cloud assembly by image tag (the asset hash), from its `*.assets.json` manifests. */
export function dockerImageAssets(outdir: string): Map<string, DockerImageAssetSource> {
  const assets = new Map<string, DockerImageAssetSource>();
  for (const file of fs.readdirSync(outdir).filter((name) => name.endsWith('.assets.json'))) {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8')) as {
      dockerImages?: Record<
        string,
        {
          source: { directory?: string; dockerBuildArgs?: Record<string, string> };
          destinations: Record<string, { imageTag: string }>;
        }
      >;
    };
    for (const image of Object.values(manifest.dockerImages ?? {})) {
      for (const destination of Object.values(image.destinations)) {
        assets.set(destination.imageTag, {
          directory: image.source.directory,
          buildArgs: image.source.dockerBuildArgs ?? {},
        });
      }
    }
  }
  return assets;
}

/** The image URI of a container definition as text, `${...}` placeholders kept (an ECR asset is an Fn::Sub). */
export function imageUri(image: unknown): string {
  if (typeof image === 'string') return image;
  if (isRecord(image) && 'Fn::Sub' in image) {
    const sub = image['Fn::Sub'];
    const template = Array.isArray(sub) ? sub[0] : sub;
    if (typeof template === 'string') return template;
  }
  throw new Error(`unexpected image value ${JSON.stringify(image)}`);
}

/**
 * The public image a container runs: a literal `repository:tag`, or an image asset built from `SOURCE_IMAGE` (the
 * ECR copies of lib/constructs/container-images.ts) or, for the one ECS image of our own (functions/dify-backend-image,
 * the Celery workers), `FROM langgenius/dify-api:${DIFY_VERSION}`; found through the asset manifest by the URI's tag.
 * (The Lambda images also take DIFY_VERSION, but they are functions, never containers of a task.)
 */
export function sourceImageOf(image: unknown, assets: Map<string, DockerImageAssetSource>, label: string): string {
  if (typeof image === 'string') return image;
  const uri = imageUri(image);
  const args = assets.get(uri.slice(uri.lastIndexOf(':') + 1))?.buildArgs;
  const source = args?.SOURCE_IMAGE ?? (args?.DIFY_VERSION ? `langgenius/dify-api:${args.DIFY_VERSION}` : undefined);
  if (source === undefined) {
    throw new Error(
      `${label} runs an image with no SOURCE_IMAGE or DIFY_VERSION build argument in the asset manifest: ${uri}`,
    );
  }
  return source;
}
