/** The simulator's bundled model catalogue: realistic entries for modelSearch. */
export interface SimModel {
  air: string;
  name: string;
  version: string;
  category: 'checkpoint' | 'lora' | 'controlnet' | 'vae' | 'embeddings' | 'lycoris';
  architecture: string;
  type?: 'base' | 'inpainting' | 'refiner';
  tags: string[];
  defaultWidth?: number;
  defaultHeight?: number;
  defaultSteps?: number;
  defaultCFG?: number;
  defaultScheduler?: string;
  conditioning?: string;
  positiveTriggerWords?: string;
  /** USD per megapixel-step-ish unit, for includeCost. */
  price: number;
}

const ck = (air: string, name: string, version: string, architecture: string, tags: string[], w: number, h: number, steps: number, cfg: number, price: number, type: SimModel['type'] = 'base'): SimModel => ({
  air, name, version, category: 'checkpoint', architecture, type, tags, defaultWidth: w, defaultHeight: h, defaultSteps: steps, defaultCFG: cfg, defaultScheduler: 'Default', price,
});
const lora = (air: string, name: string, architecture: string, tags: string[], trigger: string): SimModel => ({
  air, name, version: '1.0', category: 'lora', architecture, tags, positiveTriggerWords: trigger, price: 0,
});
const cn = (air: string, name: string, architecture: string, conditioning: string): SimModel => ({
  air, name, version: '1.0', category: 'controlnet', architecture, tags: ['controlnet', conditioning], conditioning, price: 0,
});

export const CATALOG: readonly SimModel[] = [
  ck('runware:100@1', 'FLUX.1 [schnell]', 'schnell', 'flux1s', ['flux', 'fast', 'photorealistic'], 1024, 1024, 4, 1, 0.0006),
  ck('runware:101@1', 'FLUX.1 [dev]', 'dev', 'flux1d', ['flux', 'photorealistic', 'general'], 1024, 1024, 28, 3.5, 0.0038),
  ck('runware:102@1', 'FLUX.1 Fill [dev]', 'fill-dev', 'flux1d', ['flux', 'inpainting'], 1024, 1024, 28, 30, 0.0038, 'inpainting'),
  ck('runware:106@1', 'FLUX.1 Kontext [dev]', 'kontext-dev', 'flux1d', ['flux', 'editing'], 1024, 1024, 28, 2.5, 0.004),
  ck('runware:108@20', 'Qwen-Image', '20', 'qwen_image', ['qwen', 'text rendering'], 1328, 1328, 30, 4, 0.0058),
  ck('runware:400@1', 'FLUX.2 [dev]', 'dev', 'flux2d', ['flux', 'photorealistic'], 1024, 1024, 28, 4, 0.0051),
  ck('runware:97@2', 'HiDream-I1 Fast', 'fast', 'hidream', ['hidream', 'fast'], 1024, 1024, 16, 1, 0.0032),
  ck('civitai:4201@130072', 'Realistic Vision V6.0 B1', 'V6.0 B1', 'sd1x', ['photorealistic', 'portrait', 'sd1.5'], 512, 768, 30, 5, 0.0006),
  ck('civitai:4384@128713', 'DreamShaper', '8', 'sd1x', ['anime', 'fantasy', 'sd1.5'], 512, 768, 25, 7, 0.0006),
  ck('civitai:101055@128078', 'SD XL', 'v1.0 VAE fix', 'sdxl', ['base model', 'sdxl'], 1024, 1024, 30, 7, 0.0013),
  ck('civitai:101055@128080', 'SD XL Refiner', 'v1.0 refiner', 'sdxl', ['refiner', 'sdxl'], 1024, 1024, 20, 7, 0.0013, 'refiner'),
  ck('civitai:133005@782002', 'Juggernaut XL', 'Jugg XI', 'sdxl', ['photorealistic', 'cinematic', 'sdxl'], 1024, 1024, 35, 4.5, 0.0013),
  ck('civitai:112902@351306', 'DreamShaper XL', 'Turbo DPM++ SDE', 'sdxl', ['turbo', 'fantasy', 'sdxl'], 1024, 1024, 8, 2, 0.0009),
  ck('civitai:139562@344487', 'RealVisXL V4.0', 'V4.0', 'sdxl', ['photorealistic', 'sdxl'], 1024, 1024, 30, 5, 0.0013),
  ck('civitai:257749@290640', 'Pony Diffusion V6 XL', 'V6', 'pony', ['anime', 'cartoon', 'pony'], 1024, 1024, 25, 7, 0.0013),
  ck('civitai:260267@403131', 'Animagine XL V3.1', 'V3.1', 'sdxl', ['anime', 'sdxl'], 832, 1216, 28, 6, 0.0013),
  ck('civitai:43331@176425', 'majicMIX realistic', 'v7', 'sd1x', ['asian', 'portrait', 'sd1.5'], 512, 768, 30, 7, 0.0006),
  ck('civitai:25694@143906', 'epiCRealism', 'pure Evolution V5', 'sd1x', ['photorealistic', 'sd1.5'], 512, 768, 25, 5, 0.0006),
  ck('civitai:7240@119057', 'MeinaMix', 'V11', 'sd1x', ['anime', 'sd1.5'], 512, 768, 30, 7, 0.0006),
  ck('civitai:618692@691639', 'FLUX.1 [dev] fp8', 'fp8', 'flux1d', ['flux', 'fp8'], 1024, 1024, 28, 3.5, 0.0038),
  ck('civitai:277058@539032', 'epiCRealism XL', 'v8 KiSS', 'sdxl', ['photorealistic', 'sdxl'], 1024, 1024, 30, 5, 0.0013),
  ck('civitai:20282@267689', 'Inpainting Realistic Vision', 'V6.0 B1 inpainting', 'sd1x', ['inpainting', 'sd1.5'], 512, 512, 30, 5, 0.0006, 'inpainting'),
  ck('bytedance:seedream@4.5', 'Seedream 4.5', '4.5', 'seedream', ['bytedance', 'photorealistic', '4k'], 2048, 2048, 1, 1, 0.03),
  ck('google:imagen@4', 'Imagen 4', '4', 'imagen', ['google', 'photorealistic'], 1024, 1024, 1, 1, 0.04),
  lora('civitai:58390@62833', 'Detail Tweaker LoRA', 'sd1x', ['detail', 'tool'], 'detailed'),
  lora('civitai:122359@135867', 'Detail Tweaker XL', 'sdxl', ['detail', 'tool', 'sdxl'], 'detailed'),
  lora('civitai:13941@16576', 'epi_noiseoffset', 'sd1x', ['lighting', 'contrast'], 'dark studio'),
  lora('civitai:631986@706528', 'XLabs Flux Realism LoRA', 'flux1d', ['flux', 'realism'], 'realistic photo'),
  lora('civitai:667086@746602', 'Flux Ghibli Style', 'flux1d', ['flux', 'anime', 'ghibli'], 'ghibli style'),
  lora('civitai:16014@18975', 'Anime Lineart', 'sd1x', ['anime', 'lineart'], 'lineart'),
  cn('civitai:38784@44716', 'ControlNet Canny SD1.5', 'sd1x', 'canny'),
  cn('civitai:38784@44811', 'ControlNet Depth SD1.5', 'sd1x', 'depth'),
  cn('runware:20@1', 'ControlNet Canny SDXL', 'sdxl', 'canny'),
  cn('runware:25@1', 'FLUX ControlNet Union Pro', 'flux1d', 'openpose'),
  { air: 'civitai:23906@28569', name: 'kl-f8-anime2 VAE', version: '2', category: 'vae', architecture: 'sd1x', tags: ['vae', 'anime'], price: 0 },
  { air: 'civitai:7808@9208', name: 'EasyNegative', version: '1', category: 'embeddings', architecture: 'sd1x', tags: ['negative', 'embedding'], price: 0 },
];
