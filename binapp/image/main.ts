import { buildBinappImage } from './buildImage.js';

// npm run image: builds (or finds, when unchanged) the binapp image.
try {
  const started = Date.now();
  const built = await buildBinappImage();
  process.stdout.write(
    `${built.cached ? 'unchanged' : 'built'} ${built.image} (also :latest) on ${built.baseImage}: ${(built.sizeBytes / 1024 ** 2).toFixed(1)} MiB, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
} catch (err) {
  process.stderr.write(`image build failed: ${(err as Error).message}\n`);
  process.exit(1);
}
