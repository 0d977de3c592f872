/**
 * The words the demo's records are made of, for a city like Qingdao (one of the seeds' cities): its
 * districts with their GB/T 2260 codes and real street names, common names, GB/T 4754 industries.
 * The bench makes its records of the same words.
 */

export interface District {
  code: string;
  name: string;
  streets: readonly string[];
}

export const CITY = { province: '山东省', name: '青岛市', short: '青岛' };

export const DISTRICTS: readonly District[] = [
  { code: '370202', name: '市南区', streets: ['香港中路', '山东路', '南京路', '闽江路', '延安三路', '东海西路'] },
  { code: '370203', name: '市北区', streets: ['辽宁路', '台东一路', '敦化路', '延吉路', '威海路', '登州路'] },
  { code: '370211', name: '黄岛区', streets: ['长江中路', '井冈山路', '珠江路', '嘉陵江路', '武夷山路'] },
  { code: '370212', name: '崂山区', streets: ['海尔路', '株洲路', '松岭路', '深圳路', '科苑纬一路'] },
  { code: '370213', name: '李沧区', streets: ['黑龙江中路', '九水东路', '京口路', '振华路', '巨峰路'] },
  { code: '370214', name: '城阳区', streets: ['正阳路', '长城路', '春阳路', '黑龙江路', '文阳路'] },
  { code: '370215', name: '即墨区', streets: ['蓝鳌路', '鹤山路', '烟青路', '振华街', '岙山路'] },
  { code: '370281', name: '胶州市', streets: ['福州路', '扬州路', '广州北路', '兰州东路', '郑州西路'] },
  { code: '370283', name: '平度市', streets: ['红旗路', '人民路', '常州路', '扬州路', '胜利路'] },
  { code: '370285', name: '莱西市', streets: ['烟台路', '威海西路', '文化路', '上海路', '黄海路'] },
];

/**
 * Where the people of the city were born, as the first six digits of their identity numbers:
 * mostly the city itself, including codes of districts since merged away (an identity number keeps
 * the code it was issued with), and a share from elsewhere.
 */
export const BIRTH_REGIONS: readonly (readonly [string, number])[] = [
  ...DISTRICTS.map((d) => [d.code, 8] as const),
  ['370205', 4], // 四方区, merged into 市北区 in 2012
  ['370282', 3], // 即墨市, now 即墨区
  ['370284', 3], // 胶南市, now part of 黄岛区
  ['370102', 2], ['370602', 2], ['370702', 2], ['371302', 2], ['370302', 1],
  ['410102', 1], ['220102', 1], ['230102', 1], ['340102', 1], ['130102', 1],
];

export const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗',
  '梁', '宋', '郑', '谢', '韩', '唐', '冯', '于', '董', '萧', '程', '曹', '袁', '邓', '许', '傅', '沈', '曾', '彭', '吕',
  '苏', '卢', '蒋', '蔡', '贾', '丁', '魏', '薛', '叶', '阎', '余', '潘', '杜', '戴', '夏', '钟', '汪', '田', '任', '姜',
  '范', '方', '石', '姚', '谭', '廖', '邹', '熊', '金', '陆', '郝', '孔', '白', '崔', '康', '毛', '邱', '秦', '江', '史',
  '顾', '侯', '邵', '孟', '龙', '万', '段', '雷', '钱', '汤', '尹', '黎', '易', '常', '武', '乔', '贺', '赖', '龚', '文',
] as const;

export const COMPOUND_SURNAMES = ['欧阳', '司马', '诸葛', '上官', '东方', '慕容'] as const;

export const GIVEN = {
  male: ['伟', '强', '磊', '军', '勇', '杰', '涛', '斌', '超', '明', '刚', '平', '辉', '鹏', '华', '飞', '鑫', '波', '宁', '建', '国', '峰', '东', '亮', '成', '俊', '浩', '凯', '健', '振'],
  female: ['芳', '娜', '敏', '静', '丽', '艳', '娟', '霞', '秀', '玲', '桂', '英', '萍', '红', '燕', '雪', '婷', '琳', '洁', '倩', '颖', '慧', '莉', '梅', '兰', '琴', '蕾', '薇', '悦', '晶'],
  either: ['文', '晓', '海', '春', '志', '宇', '佳', '嘉', '思', '子', '一', '欣', '梓', '雨', '天', '晨', '安', '明', '立', '永'],
} as const;

/** Characters that make up an enterprise's trade name (字号). */
export const TRADE_NAME_CHARS = [
  '海', '联', '信', '诚', '恒', '达', '鑫', '源', '瑞', '泰', '华', '盛', '宏', '远', '德', '利', '博', '创', '嘉', '铭',
  '汇', '通', '润', '丰', '天', '宇', '金', '正', '安', '顺', '益', '康', '合', '众', '凯', '新', '兴', '和', '永', '昌',
  '蓝', '港', '澳', '湾', '崂', '琴', '岛', '鲁', '齐', '东', '方', '峰', '林', '晟', '昊', '骏', '拓', '启', '航', '智',
] as const;

export interface Industry {
  /** GB/T 4754-2017 class code: section letter and four digits */
  code: string;
  /** as it appears in an enterprise name */
  word: string;
  scope: string;
}

/** Industries of companies (registration type 1). */
export const COMPANY_INDUSTRIES: readonly Industry[] = [
  { code: 'I6513', word: '软件科技', scope: '软件开发；信息系统集成服务；信息技术咨询服务；数据处理和存储支持服务' },
  { code: 'I6531', word: '信息技术', scope: '信息系统集成服务；计算机系统服务；网络技术服务；物联网技术服务' },
  { code: 'I6420', word: '网络科技', scope: '互联网信息服务；网络技术服务；软件开发；广告设计、代理' },
  { code: 'F5181', word: '国际贸易', scope: '货物进出口；技术进出口；进出口代理；国内贸易代理' },
  { code: 'F5191', word: '商贸', scope: '日用百货销售；五金产品批发；电子产品销售；针纺织品销售；化妆品批发' },
  { code: 'F5176', word: '电子科技', scope: '计算机软硬件及辅助设备批发；电子元器件批发；通讯设备销售' },
  { code: 'E4710', word: '建筑工程', scope: '房屋建筑和市政基础设施项目工程总承包；建设工程施工；土石方工程施工' },
  { code: 'E5012', word: '装饰工程', scope: '住宅室内装饰装修；建筑装饰材料销售；家具安装和维修服务' },
  { code: 'G5431', word: '物流', scope: '道路货物运输（不含危险货物）；普通货物仓储服务；装卸搬运' },
  { code: 'G5821', word: '国际货运代理', scope: '国际货物运输代理；国内货物运输代理；报关业务；无船承运业务' },
  { code: 'H6210', word: '餐饮管理', scope: '餐饮服务；餐饮管理；食品销售；外卖递送服务' },
  { code: 'H6110', word: '酒店管理', scope: '住宿服务；酒店管理；会议及展览服务；停车场服务' },
  { code: 'C3484', word: '机械制造', scope: '通用零部件制造；机械零件、零部件加工；金属加工机械制造' },
  { code: 'C3670', word: '汽车零部件', scope: '汽车零部件及配件制造；汽车零配件批发；模具制造' },
  { code: 'C1431', word: '食品', scope: '食品生产；食品销售；饼干及其他焙烤食品制造' },
  { code: 'C1819', word: '服饰', scope: '服装制造；服装服饰批发；针纺织品及原料销售' },
  { code: 'C2927', word: '塑料制品', scope: '塑料制品制造；塑料制品销售；橡胶制品销售' },
  { code: 'L7212', word: '投资管理', scope: '以自有资金从事投资活动；企业管理咨询；财务咨询' },
  { code: 'L7241', word: '财税咨询', scope: '财务咨询；税务服务；代理记账；企业管理咨询' },
  { code: 'M7320', word: '海洋科技', scope: '海洋工程装备研发；海洋生物活性物质提取、纯化、合成技术研发；技术服务、技术开发' },
  { code: 'M7513', word: '新材料科技', scope: '新材料技术研发；新材料技术推广服务；合成材料销售' },
  { code: 'M7512', word: '生物科技', scope: '生物基材料技术研发；生物化工产品技术研发；技术服务、技术开发、技术咨询' },
];

/** Legal forms of companies (registration type 1): the name's suffix, the registered type, and how common each is. */
export interface CompanyForm {
  suffix: string;
  type: string;
  listed?: boolean;
  foreign?: boolean;
}

export const COMPANY_FORMS: readonly (readonly [CompanyForm, number])[] = [
  [{ suffix: '有限公司', type: '有限责任公司（自然人投资或控股）' }, 68],
  [{ suffix: '有限公司', type: '有限责任公司（自然人独资）' }, 12],
  [{ suffix: '股份有限公司', type: '股份有限公司（非上市、自然人投资或控股）' }, 9],
  [{ suffix: '有限公司', type: '有限责任公司（外国法人独资）', foreign: true }, 4],
  [{ suffix: '集团有限公司', type: '其他有限责任公司' }, 4],
  [{ suffix: '股份有限公司', type: '股份有限公司（上市、自然人投资或控股）', listed: true }, 3],
];

/** Shops of individual businesses (registration type 2): what the shop is called and its industry. */
export const SHOPS: readonly Industry[] = [
  { code: 'F5213', word: '便利店', scope: '食品销售；日用百货销售；烟草制品零售' },
  { code: 'H6210', word: '家常菜馆', scope: '餐饮服务' },
  { code: 'H6220', word: '快餐店', scope: '餐饮服务；小餐饮' },
  { code: 'O8051', word: '理发店', scope: '理发服务；生活美容服务' },
  { code: 'F5229', word: '水产品店', scope: '水产品零售；食用农产品零售' },
  { code: 'F5234', word: '五金店', scope: '五金产品零售；建筑材料销售；电线、电缆经营' },
  { code: 'F5271', word: '日用品经营部', scope: '日用百货销售；家居用品销售' },
];

/** Farmers' cooperatives (registration type 3). */
export const COOPERATIVES: readonly Industry[] = [
  { code: 'A0141', word: '蔬菜种植', scope: '组织收购、销售成员种植的蔬菜；引进新技术、新品种，开展技术培训' },
  { code: 'A0151', word: '果品', scope: '组织收购、销售成员种植的水果；为成员提供农业生产资料购买服务' },
  { code: 'A0411', word: '海水养殖', scope: '组织成员开展海水养殖；销售成员养殖的水产品；提供技术信息服务' },
  { code: 'A0312', word: '生猪养殖', scope: '组织成员开展生猪养殖；销售成员养殖的生猪；提供饲料采购服务' },
];

export const SCOPE_TAIL = '（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）';

/**
 * A branch office in the free-trade zone, named the long way: valid names of more than 100 characters,
 * which the tax register's shorter name column refuses. `{n}` is the branch's number.
 */
export const BRANCH_NAME = '中国（山东）自由贸易试验区青岛片区东北亚国际航运枢纽港口物流园区多式联运综合物流服务基地跨境电子商务综合服务及供应链管理第{n}分公司上合示范区进出口商品展示交易中心海洋经济联络服务综合营业部';

export const ORDINALS = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'] as const;
